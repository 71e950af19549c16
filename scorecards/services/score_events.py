"""What a finished score run tells the outside (PRODUCT.md, "Outbound events").

In the transaction that publishes the run, just before the new snapshots become the current
scores (so the previous current score is still at hand), score_run_finish stages the run's
band moves: one INSERT … SELECT of an id pair per account, which costs the run little. The
events are built from those rows after the run commits (a worker task; inline when tasks run
inline), so a night in which 10,000 accounts move does not hold the run's transaction while
10,000 event documents are made; a task lost on the way is made up by the healing beat
task, and a run's events are recorded once (the run row is locked, `events_recorded_at` set):

- `score.band_changed` for every account whose band moved between its previous current score
  and the run's snapshot, only like-for-like: both made by the same scorecard and version (a
  move caused by a new version or another scorecard is not the account's health moving).
  The data holds `from` / `to` (band, overall, date, the band's colour), the scorecard, and
  the three largest "what changed" lines in points (rule 11 between the two snapshots).
- `score_run.finished` for a full run. A full run of today or yesterday (not a backfill) is
  a nightly digest for Slack and Teams: its band moves, and the risks its evaluation
  records, reach them in one message per endpoint.

A rerun of the same day replaced the previous snapshot in place, so its "what changed" lines
are empty (both sides are the new snapshot); the band move itself comes from the current score.
"""

import logging
from datetime import datetime, timedelta

import orjson
from celery import current_app, signature
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.choices import EventType
from events.services import EventDraft, events_record_bulk
from scorecards import engine
from scorecards.models import (
    Band,
    Measure,
    Scorecard,
    ScoreRun,
    ScoreRunBandMove,
    ScoreSnapshot,
)

logger = logging.getLogger(__name__)

BACKFILL_AGE_DAYS = 1
CONTRIBUTION = ScoreSnapshot.MEASURE_FIELDS.index("contribution")
KEY = ScoreSnapshot.MEASURE_FIELDS.index("key")

# Previous current score → this run's snapshot, where the band moved like-for-like (the
# current score keeps its snapshot's scorecard and version, so the previous snapshots are not
# read here). Runs before current_scores_publish; a backfill (current score of a later day)
# moves nothing.
BAND_MOVES_STAGE_SQL = f"""
INSERT INTO {ScoreRunBandMove._meta.db_table}
  (run_id, account_id, from_snapshot_id, from_as_of, from_band, from_overall, to_snapshot_id)
SELECT n.run_id, n.account_id, c.snapshot_id, c.as_of, c.band, c.overall, n.id
FROM scorecards_scoresnapshot n
JOIN scorecards_currentscore c ON c.account_id = n.account_id
WHERE n.as_of = %s AND n.run_id = %s AND c.as_of <= n.as_of
  AND c.band <> n.band AND c.band <> '' AND n.band <> ''
  AND c.scorecard_id = n.scorecard_id AND c.scorecard_version = n.scorecard_version
"""

# The staged moves with both snapshots' breakdowns, for the events. Each staged row fetches
# its two snapshots by primary key (LATERAL, and OFFSET 0 so that the planner cannot flatten
# the subqueries into joins; the date from the run row, not a constant, so that it cannot
# prefer the date index): the staged rows and the day's snapshots are minutes old, so their
# statistics say "one row" and invite plans that rescan 10,000 rows per move (43 s instead
# of a fraction of a second for 10,000 moves).
BAND_MOVES_SQL = f"""
SELECT m.account_id, m.from_band, m.from_overall, m.from_as_of, o.measures,
       n.band, n.overall, n.as_of, n.measures, n.scorecard_id, n.scorecard_version
FROM scorecards_scorerun r
JOIN {ScoreRunBandMove._meta.db_table} m ON m.run_id = r.id
CROSS JOIN LATERAL (
  SELECT band, overall, as_of, measures, scorecard_id, scorecard_version
  FROM scorecards_scoresnapshot WHERE id = m.to_snapshot_id AND as_of = r.as_of OFFSET 0
) n
CROSS JOIN LATERAL (
  SELECT measures FROM scorecards_scoresnapshot
  WHERE id = m.from_snapshot_id AND as_of = m.from_as_of OFFSET 0
) o
WHERE r.id = %s
ORDER BY m.account_id
"""

# The same as plain joins, for SQLite (the embedded default), which has no LATERAL: its
# planner fetches each snapshot by primary key anyway.
BAND_MOVES_SQL_ELSEWHERE = f"""
SELECT m.account_id, m.from_band, m.from_overall, m.from_as_of, o.measures,
       n.band, n.overall, n.as_of, n.measures, n.scorecard_id, n.scorecard_version
FROM scorecards_scorerun r
JOIN {ScoreRunBandMove._meta.db_table} m ON m.run_id = r.id
JOIN scorecards_scoresnapshot n ON n.id = m.to_snapshot_id AND n.as_of = r.as_of
JOIN scorecards_scoresnapshot o ON o.id = m.from_snapshot_id AND o.as_of = m.from_as_of
WHERE r.id = %s
ORDER BY m.account_id
"""

RECORD_TASK = "scorecards.tasks.score_run_events_record"


def score_run_band_moves_stage(*, run: ScoreRun) -> int:
    """Stage the run's like-for-like band moves, in score_run_finish's transaction before the
    run's scores become current; returns how many. Then `score_run_events_record_soon`."""
    with connection.cursor() as cursor:
        cursor.execute(BAND_MOVES_STAGE_SQL, [run.as_of, run.pk])
        return cursor.rowcount


def score_run_events_record_soon(*, run: ScoreRun) -> None:
    """Record the run's events once it commits: on a worker, or now when tasks run inline
    (no worker to hand them to; the events then commit with the run)."""
    if current_app.conf.task_always_eager:
        score_run_events_record(run=run)
        return
    transaction.on_commit(
        lambda: signature(RECORD_TASK, args=(run.pk,), app=current_app).delay(),
        using=connection.alias,
    )


def score_runs_events_heal(*, after_seconds: int, now: datetime | None = None) -> list[int]:
    """Record the events of finished runs whose recording task was lost (a worker killed, a
    broker restarted) `after_seconds` after they finished; returns the runs' ids."""
    cutoff = (now or timezone.now()) - timedelta(seconds=after_seconds)
    late = list(
        ScoreRun.objects.filter(
            status=ScoreRun.Status.FINISHED, events_recorded_at=None, finished_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for run_id in late:
        logger.warning("Recording the events of run %s, which its task did not.", run_id)
        score_run_events_record(run=ScoreRun(pk=run_id))
    return late


def _measures(value) -> list:
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value or []


def _is_backfill(run: ScoreRun) -> bool:
    """A run for a day before yesterday fills history: no digest (a 90-day backfill would
    send 90), as risk evaluation skips it too."""
    return run.as_of < timezone.localdate() - timedelta(days=BACKFILL_AGE_DAYS)


def _number(value) -> float | None:
    return None if value is None else float(value)


@transaction.atomic
def score_run_events_record(*, run: ScoreRun) -> int:
    """Record the run's staged band moves as `score.band_changed` events and, for a full
    run, `score_run.finished`; the staged rows go. Once per run: a second call (a retried
    task, the healing) finds `events_recorded_at` set. Returns how many accounts changed
    band."""
    run = ScoreRun.objects.select_for_update().get(pk=run.pk)
    if run.status != ScoreRun.Status.FINISHED or run.events_recorded_at is not None:
        return 0
    with connection.cursor() as cursor:
        sql = BAND_MOVES_SQL if connection.vendor == "postgresql" else BAND_MOVES_SQL_ELSEWHERE
        cursor.execute(sql, [run.pk])
        moves = cursor.fetchall()
    drafts = []
    if moves:
        names = dict(Measure.objects.values_list("key", "name"))
        colors = {
            (scorecard_id, label): color
            for scorecard_id, label, color in Band.objects.values_list(
                "scorecard_id", "label", "color"
            )
        }
        cards = dict(Scorecard.objects.values_list("pk", "name"))
        for (
            account_id,
            from_band,
            from_overall,
            from_as_of,
            from_measures,
            to_band,
            to_overall,
            to_as_of,
            to_measures,
            scorecard_id,
            version,
        ) in moves:
            changes = engine.largest_changes(
                {row[KEY]: row[CONTRIBUTION] for row in _measures(from_measures)},
                {row[KEY]: row[CONTRIBUTION] for row in _measures(to_measures)},
            )
            drafts.append(
                EventDraft(
                    event_type=EventType.SCORE_BAND_CHANGED,
                    account_id=account_id,
                    score_run_id=run.pk,
                    is_in_digest=run.is_full,
                    data={
                        "scorecard": {
                            "id": scorecard_id,
                            "name": cards.get(scorecard_id, ""),
                            "version": version,
                        },
                        "from": {
                            "band": from_band,
                            "overall": _number(from_overall),
                            "date": from_as_of.isoformat(),
                            "color": colors.get((scorecard_id, from_band)),
                        },
                        "to": {
                            "band": to_band,
                            "overall": _number(to_overall),
                            "date": to_as_of.isoformat(),
                            "color": colors.get((scorecard_id, to_band)),
                        },
                        "changes": [
                            {"measure": key, "name": names.get(key, key), "points": points}
                            for key, points in changes
                        ],
                    },
                )
            )
    if run.is_full:
        drafts.append(
            EventDraft(
                event_type=EventType.SCORE_RUN_FINISHED,
                score_run_id=run.pk,
                is_in_digest=not _is_backfill(run),
                data={
                    "run": {
                        "id": run.pk,
                        "as_of": run.as_of.isoformat(),
                        "is_full": run.is_full,
                        "accounts_total": run.accounts_total,
                        "accounts_scored": run.accounts_scored,
                        "accounts_not_scored": run.accounts_not_scored,
                        "accounts_failed": run.accounts_failed,
                        "band_changes": len(moves),
                    },
                    "url": f"{settings.SITE_URL.rstrip('/')}/portfolio/",
                },
            )
        )
    # Dated when the run finished: an endpoint made after that does not get them.
    events_record_bulk(drafts, created_at=run.finished_at)
    ScoreRunBandMove.objects.filter(run_id=run.pk).delete()
    ScoreRun.objects.filter(pk=run.pk).update(events_recorded_at=timezone.now())
    return len(moves)
