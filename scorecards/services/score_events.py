"""What a finished score run tells the outside (PRODUCT.md, "Outbound events").

Recorded by score_run_finish in the transaction that publishes the run, just before the new
snapshots become the current scores, so the previous current score is still at hand:

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

from datetime import timedelta

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone

from events.choices import EventType
from events.services import EventDraft, events_record_bulk
from scorecards import engine
from scorecards.models import Band, Measure, Scorecard, ScoreRun, ScoreSnapshot

BACKFILL_AGE_DAYS = 1
CONTRIBUTION = ScoreSnapshot.MEASURE_FIELDS.index("contribution")
KEY = ScoreSnapshot.MEASURE_FIELDS.index("key")

# Previous current score → this run's snapshot, where the band moved like-for-like. Runs
# before current_scores_publish; a backfill (current score of a later day) moves nothing.
BAND_MOVES_SQL = """
SELECT n.account_id, c.band, c.overall, c.as_of, o.measures,
       n.band, n.overall, n.as_of, n.measures, n.scorecard_id, n.scorecard_version
FROM scorecards_scoresnapshot n
JOIN scorecards_currentscore c ON c.account_id = n.account_id
JOIN scorecards_scoresnapshot o ON o.id = c.snapshot_id
WHERE n.as_of = %s AND n.run_id = %s AND c.as_of <= n.as_of
  AND c.band <> n.band AND c.band <> '' AND n.band <> ''
  AND o.scorecard_id = n.scorecard_id AND o.scorecard_version = n.scorecard_version
ORDER BY n.account_id
"""


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


def score_run_events_record(*, run: ScoreRun) -> int:
    """Record the run's band moves and, for a full run, `score_run.finished`, in the
    caller's transaction (score_run_finish). Returns how many accounts changed band."""
    with connection.cursor() as cursor:
        cursor.execute(BAND_MOVES_SQL, [run.as_of, run.pk])
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
        run.refresh_from_db()
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
    events_record_bulk(drafts)
    return len(moves)
