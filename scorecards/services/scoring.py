"""Recompute: score accounts with the pure engine and write the snapshots in bulk.

A run is split into chunks of accounts (id ranges) so that more workers finish sooner. Each
chunk is scored and written in one transaction and can be scored again with the same result,
which makes redelivered or resumed chunks safe. A run's snapshots become the current scores
only when the whole run has finished.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import orjson
import pandas as pd
from celery import current_app, signature
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import Account
from healthscore import metrics
from healthscore.generations import generation_bump_for
from scorecards import comparisons, engine, selectors
from scorecards.models import CurrentScore, ScoreRun, ScoreRunChunk, ScoreSnapshot
from scorecards.services import derived, partitions
from scorecards.services.copy_in import frame_copy_to_temp_table
from scorecards.services.score_events import (
    score_run_band_moves_stage,
    score_run_events_record_soon,
)

logger = logging.getLogger(__name__)

# Accounts per chunk: big enough that per-chunk overhead (a handful of queries) is noise,
# small enough that a chunk's frames stay well under 100 MB.
CHUNK_SIZE = getattr(settings, "SCORE_CHUNK_SIZE", 10_000)
MAX_ERRORS_KEPT = 100
# The day a snapshot's previous_band compares with ("changed since yesterday").
PREVIOUS_DAY = 1

SNAPSHOT_COLUMNS = [
    "account_id",
    "as_of",
    "scorecard_id",
    "scorecard_version",
    "run_id",
    "overall",
    "computed",
    "band",
    "previous_band",
    "coverage",
    "trend_7",
    "trend_30",
    "trend_90",
    "earlier_scores",
    "groups",
    "measures",
    "exceptions",
    "missing_measures",
    "biggest_lever",
    "error",
    "created_at",
]


@dataclass(frozen=True)
class ChunkSummary:
    accounts_scored: int
    accounts_not_scored: int
    accounts_failed: int
    exceptions_fired: int


# --- Runs ----------------------------------------------------------------------------------------


@transaction.atomic
def score_run_create(
    *,
    as_of: date,
    account_ids: list[int] | None = None,
    user: AbstractBaseUser | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ScoreRun:
    """Create a pending run for `as_of` over every active account (or the given ones), with
    its chunks. Nothing is scored yet: see score_run_execute / score_run_start."""
    partitions.partitions_ensure(first=as_of, last=as_of)  # a backfill's month, if missing
    ids = selectors.active_account_ids(account_ids=account_ids)
    is_full = account_ids is None
    run = ScoreRun.objects.create(
        as_of=as_of,
        is_full=is_full,
        accounts_total=len(ids),
        requested_by=user,
        progressed_at=timezone.now(),
    )
    chunks = [
        ScoreRunChunk(
            run=run,
            first_account_id=part[0],
            last_account_id=part[-1],
            account_ids=None if is_full else part,
        )
        for part in (ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size))
    ]
    ScoreRunChunk.objects.bulk_create(chunks)
    run.chunks_total = len(chunks)
    run.save(update_fields=["chunks_total"])
    return run


def score_run_start(
    *,
    as_of: date,
    account_ids: list[int] | None = None,
    user: AbstractBaseUser | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ScoreRun:
    """Create a run and hand it to the workers once the transaction commits."""
    from scorecards import tasks

    run = score_run_create(as_of=as_of, account_ids=account_ids, user=user, chunk_size=chunk_size)
    transaction.on_commit(lambda: tasks.score_run_execute.delay(run.pk))
    return run


def score_run_claim(*, run: ScoreRun) -> bool:
    """Move a pending run to running. False when another worker got there first."""
    now = timezone.now()
    claimed = ScoreRun.objects.filter(pk=run.pk, status=ScoreRun.Status.PENDING).update(
        status=ScoreRun.Status.RUNNING, started_at=now, progressed_at=now
    )
    return claimed == 1


def score_run_reopen(*, run: ScoreRun) -> bool:
    """Make a stopped run resumable, the one way both resumes go (the `score_run_resume`
    task, which the stall healing sends, and `recompute_scores --resume`): a pending run is
    claimed, a failed one is running again with its error cleared. True when the run is now
    running (its unfinished chunks are to be scored, then its finishing step), False when it
    had already finished."""
    now = timezone.now()
    if run.status == ScoreRun.Status.PENDING:
        score_run_claim(run=run)
    ScoreRun.objects.filter(pk=run.pk, status=ScoreRun.Status.FAILED).update(
        status=ScoreRun.Status.RUNNING, finished_at=None, errors=[], progressed_at=now
    )
    run.refresh_from_db()
    return run.status == ScoreRun.Status.RUNNING


def score_runs_stalled_heal(*, stall_seconds: int, now: datetime | None = None) -> list[int]:
    """Resume every pending or running run that has not moved for `stall_seconds`: a worker
    killed mid-chunk (its message waits for the broker's visibility timeout) or a broker
    restarted without persistence (its queued chunks are gone) leaves such a run. The resume
    sends the run's unfinished chunks again; chunks are idempotent, so a chunk that was only
    slow is scored twice with the same result. Returns the ids of the runs resumed.

    Each run is claimed with a conditional update on its progress time, so two healers (two
    beat ticks, two beat processes by mistake) resume it once."""
    from scorecards import tasks

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stall_seconds)
    stalled = ScoreRun.objects.filter(
        status__in=[ScoreRun.Status.PENDING, ScoreRun.Status.RUNNING], progressed_at__lt=cutoff
    ).values_list("pk", "progressed_at")
    healed = []
    for run_id, progressed_at in stalled:
        claimed = ScoreRun.objects.filter(pk=run_id, progressed_at=progressed_at).update(
            progressed_at=now
        )
        if not claimed:
            continue  # another healer, or the run itself, moved it meanwhile
        logger.warning(
            "Score run %s made no progress since %s; resuming it.",
            run_id,
            progressed_at.isoformat(),
            extra={"run_id": run_id, "event": "score_run_healed"},
        )
        metrics.score_runs_healed.inc()
        healed.append(run_id)
        transaction.on_commit(lambda run_id=run_id: tasks.score_run_resume.delay(run_id))
    return healed


def score_run_unfinished_chunk_ids(*, run: ScoreRun) -> list[int]:
    return list(
        run.chunks.exclude(status=ScoreRunChunk.Status.DONE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def score_run_execute_inline(*, run: ScoreRun, progress=None) -> ScoreRun:
    """Score a run's chunks one after the other in this process, then finish it.
    `progress(chunk_summary, accounts_in_chunk)` is called after each chunk."""
    if run.status == ScoreRun.Status.PENDING:
        score_run_claim(run=run)
    for chunk in run.chunks.exclude(status=ScoreRunChunk.Status.DONE).order_by("pk"):
        summary = score_chunk_compute(chunk=chunk)
        if progress is not None:
            progress(summary, chunk)
    return score_run_finish(run=run)


def score_run_finish(*, run: ScoreRun) -> ScoreRun:
    """Total the chunks, publish the run's snapshots as the current scores and mark the run
    finished. Safe to call twice; does nothing while a chunk is unfinished."""
    run.refresh_from_db()
    if run.status != ScoreRun.Status.RUNNING:
        return run
    if run.chunks.exclude(status=ScoreRunChunk.Status.DONE).exists():
        return run
    with transaction.atomic():
        # Conditional update: of two finishing steps (a resumed run), one publishes.
        if not ScoreRun.objects.filter(pk=run.pk, status=ScoreRun.Status.RUNNING).update(
            status=ScoreRun.Status.FINISHED
        ):
            run.refresh_from_db()
            return run
        totals = run.chunks.aggregate(
            scored=Sum("accounts_scored"),
            not_scored=Sum("accounts_not_scored"),
            failed=Sum("accounts_failed"),
            fired=Sum("exceptions_fired"),
        )
        errors = [
            error
            for chunk_errors in run.chunks.values_list("errors", flat=True)
            for error in chunk_errors
        ][:MAX_ERRORS_KEPT]
        finished_at = timezone.now()
        duration = (finished_at - (run.started_at or run.created_at)).total_seconds()
        ScoreRun.objects.filter(pk=run.pk).update(
            accounts_scored=totals["scored"] or 0,
            accounts_not_scored=totals["not_scored"] or 0,
            accounts_failed=totals["failed"] or 0,
            exceptions_fired=totals["fired"] or 0,
            chunks_done=run.chunks_total,
            errors=errors,
            finished_at=finished_at,
            duration_seconds=duration,
            progressed_at=finished_at,
        )
        transaction.on_commit(lambda: metrics.score_run_duration.observe(duration))
        # Outbound events: the band moves are staged in this transaction (so sent if and
        # only if the run is published), before publishing, while the previous current
        # scores are still there to compare; the events are made from them after commit.
        score_run_band_moves_stage(run=run)
        current_scores_publish(run=run)
        score_run_events_record_soon(run=run)
        transaction.on_commit(lambda: score_run_finished_notify(run=run))
    run.refresh_from_db()
    return run


def score_run_finished_notify(*, run: ScoreRun) -> None:
    """Start what follows a finished run (risk evaluation, set in SCORE_RUN_FINISHED_TASKS).

    Named rather than imported, because apps above scorecards (risk) react to its runs and
    scorecards must not import them."""
    for task_name in settings.SCORE_RUN_FINISHED_TASKS:
        signature(task_name, args=(run.pk,), app=current_app).delay()


def score_run_fail(*, run: ScoreRun, error: str) -> None:
    """Record that a run could not finish; its snapshots never become current."""
    ScoreRun.objects.filter(pk=run.pk).exclude(status=ScoreRun.Status.FINISHED).update(
        status=ScoreRun.Status.FAILED,
        finished_at=timezone.now(),
        errors=[{"account_id": None, "error": error[:2000]}],
    )


def account_rescore(
    *, account: Account, as_of: date, user: AbstractBaseUser | None = None
) -> ScoreRun:
    """Score one account now, in this process, and make the result its current score: used
    when a new sentiment or measure value arrives for it."""
    run = score_run_create(as_of=as_of, account_ids=[account.pk], user=user)
    return score_run_execute_inline(run=run)


def current_scores_publish(*, run: ScoreRun) -> None:
    """Point each account of the run at its new snapshot, unless the account already shows
    a later date (a backfill of old days must not replace today's score)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scorecards_currentscore "
            "(account_id, snapshot_id, scorecard_id, scorecard_version, as_of, overall, band) "
            "SELECT account_id, id, scorecard_id, scorecard_version, as_of, overall, band "
            "FROM scorecards_scoresnapshot WHERE as_of = %s AND run_id = %s "
            "ON CONFLICT (account_id) DO UPDATE SET snapshot_id = excluded.snapshot_id, "
            "scorecard_id = excluded.scorecard_id, "
            "scorecard_version = excluded.scorecard_version, as_of = excluded.as_of, "
            "overall = excluded.overall, band = excluded.band "
            "WHERE scorecards_currentscore.as_of <= excluded.as_of",
            [run.as_of, run.pk],
        )
    generation_bump_for(CurrentScore)


# --- Chunks --------------------------------------------------------------------------------------


def score_chunk_compute(*, chunk: ScoreRunChunk) -> ChunkSummary | None:
    """Score one chunk's accounts and write their snapshots, replacing any of the same date.

    Idempotent: scoring a chunk again writes the same snapshots. Returns None when the chunk
    was already done (a redelivered message)."""
    claimed = (
        ScoreRunChunk.objects.filter(pk=chunk.pk)
        .exclude(status=ScoreRunChunk.Status.DONE)
        .update(status=ScoreRunChunk.Status.RUNNING, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    run = chunk.run
    # Derived measures first: their values for this date are stored (source computed) in the
    # same transaction as the snapshots that score them.
    derivation = derived.derivation_compute(
        as_of=run.as_of,
        first_id=chunk.first_account_id,
        last_id=chunk.last_account_id,
        account_ids=chunk.account_ids,
    )
    snapshots, summary, errors = snapshot_rows_compute(
        as_of=run.as_of,
        first_id=chunk.first_account_id,
        last_id=chunk.last_account_id,
        account_ids=chunk.account_ids,
        run_id=run.pk,
        derivation=derivation,
    )
    with transaction.atomic():
        derived.derivation_write(derivation=derivation)
        snapshots_write(snapshots)
        ScoreRunChunk.objects.filter(pk=chunk.pk).update(
            status=ScoreRunChunk.Status.DONE,
            accounts_scored=summary.accounts_scored,
            accounts_not_scored=summary.accounts_not_scored,
            accounts_failed=summary.accounts_failed,
            exceptions_fired=summary.exceptions_fired,
            errors=errors[:MAX_ERRORS_KEPT],
            finished_at=timezone.now(),
        )
        ScoreRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1, progressed_at=timezone.now()
        )
    return summary


def snapshot_rows_compute(
    *,
    as_of: date,
    first_id: int,
    last_id: int,
    account_ids: list[int] | None = None,
    run_id: int | None = None,
    derivation: derived.Derivation | None = None,
) -> tuple[pd.DataFrame, ChunkSummary, list[dict]]:
    """Load what the engine needs for the accounts in [first_id, last_id] (or just
    `account_ids`), score them and return the snapshot rows to write (SNAPSHOT_COLUMNS), a
    summary and the per-account errors. Reads only; writes nothing. With a `derivation`, its
    derived measures score the values it computed for `as_of` rather than stored ones."""
    frames = selectors.scorecard_frames()
    accounts = selectors.accounts_frame(first_id=first_id, last_id=last_id)
    if account_ids is not None:
        accounts = accounts[accounts[engine.ACCOUNT_ID].isin(account_ids)]
    assignments = engine.assign_scorecards(accounts, frames.assignment_rules)
    errors = [
        {"account_id": int(account_id), "error": "No scorecard applies and there is no default."}
        for account_id in sorted(
            set(accounts[engine.ACCOUNT_ID]) - set(assignments[engine.ACCOUNT_ID])
        )
    ]
    values = selectors.latest_values_frame(first_id=first_id, last_id=last_id, as_of=as_of)
    if derivation is not None:
        values = derived.derivation_overlay(values, derivation=derivation)
    result = engine.score_accounts(
        values=values,
        measures=frames.measures,
        groups=frames.groups,
        scorecards=frames.scorecards,
        bands=frames.bands,
        exception_rules=frames.exception_rules,
        assignments=assignments,
        as_of=as_of,
    )
    history = earlier_scores_for_trends(
        result=result, frames=frames, as_of=as_of, first_id=first_id, last_id=last_id
    )
    kept_earlier = _kept_earlier_scores(history, as_of=as_of)
    previous_day = pd.Timestamp(as_of - timedelta(days=PREVIOUS_DAY))
    previous = history[history[engine.AS_OF] == previous_day]
    previous_band = previous.set_index(engine.ACCOUNT_ID)[engine.BAND]
    trend = engine.trends(
        result.accounts[[engine.ACCOUNT_ID, engine.OVERALL]], history, as_of=as_of
    )
    scored_accounts = result.accounts
    has_error = scored_accounts[engine.ERROR].notna()
    errors += [
        {"account_id": int(row.account_id), "error": row.error}
        for row in scored_accounts[has_error].itertuples()
    ]
    exceptions_fired = int(scored_accounts[engine.EXCEPTIONS].map(len).sum())
    summary = ChunkSummary(
        accounts_scored=int(scored_accounts[engine.IS_SCORED].sum()),
        accounts_not_scored=int((~scored_accounts[engine.IS_SCORED] & ~has_error).sum()),
        accounts_failed=len(errors),
        exceptions_fired=exceptions_fired,
    )
    rows = _snapshot_rows(
        result=result,
        trend=trend,
        previous_band=previous_band,
        kept_earlier=kept_earlier,
        versions=frames.versions,
        as_of=as_of,
        run_id=run_id,
        valid=~has_error,
    )
    return rows, summary, errors


def earlier_scores_for_trends(
    *,
    result: engine.ScoringResult,
    frames: selectors.ScorecardFrames,
    as_of: date,
    first_id: int,
    last_id: int,
    windows: tuple[int, ...] = (PREVIOUS_DAY, *selectors.TREND_WINDOWS),
) -> pd.DataFrame:
    """The earlier score of each scored account on as_of − N for each trend window and the
    day before (the "changed since yesterday" band), like for like (rule 13, see
    scorecards.comparisons): account_id, as_of, overall, band, is_rescored, and the lines of
    the trend windows' rescored ones (kept in the snapshot for "what changed").

    Steady state (the anchors were scored with today's versions): one snapshot query per
    window. After a publish: one extra engine call per window for the accounts whose anchor
    snapshot is of another version or missing."""
    scored = result.accounts[result.accounts[engine.IS_SCORED]]
    later = pd.DataFrame(
        {
            engine.ACCOUNT_ID: scored[engine.ACCOUNT_ID].to_numpy(),
            engine.SCORECARD_ID: scored[engine.SCORECARD_ID].to_numpy(),
            comparisons.LATER_VERSION: scored[engine.SCORECARD_ID].map(frames.versions).to_numpy(),
        }
    )
    parts = [
        comparisons.earlier_scores_frame(
            later=later,
            on=as_of - timedelta(days=days),
            frames=frames,
            first_id=first_id,
            last_id=last_id,
            # "What changed" compares the trend windows; the day before only by band.
            with_lines=days in selectors.TREND_WINDOWS,
        )
        for days in windows
    ]
    history = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return history.rename(columns={comparisons.ON: engine.AS_OF})


def _snapshot_rows(
    *,
    result: engine.ScoringResult,
    trend: pd.DataFrame,
    previous_band: pd.Series,
    kept_earlier: dict[int, str],
    versions: dict[int, int],
    as_of: date,
    run_id: int | None,
    valid: pd.Series,
) -> pd.DataFrame:
    """One row per validly scored account in the snapshot table's shape, with the group and
    measure breakdowns as JSON text."""
    accounts = result.accounts[valid.to_numpy()].reset_index(drop=True)
    account_ids = accounts[engine.ACCOUNT_ID].to_numpy()
    accounts = accounts.merge(trend, on=engine.ACCOUNT_ID, how="left")
    groups_json = _json_lists(result.groups, account_ids, _group_records)
    measures_json = _json_lists(result.measures, account_ids, _measure_records)
    now = timezone.now()
    return pd.DataFrame(
        {
            "account_id": account_ids,
            "as_of": as_of,
            "scorecard_id": accounts[engine.SCORECARD_ID].to_numpy(),
            "scorecard_version": accounts[engine.SCORECARD_ID].map(versions).to_numpy(),
            "run_id": run_id,
            "overall": accounts[engine.OVERALL].to_numpy(),
            "computed": accounts[engine.COMPUTED].to_numpy(),
            "band": accounts[engine.BAND].to_numpy(),
            "previous_band": accounts[engine.ACCOUNT_ID].map(previous_band).fillna("").to_numpy(),
            "coverage": accounts[engine.COVERAGE].fillna(0).to_numpy(),
            "trend_7": accounts["trend_7"].to_numpy(),
            "trend_30": accounts["trend_30"].to_numpy(),
            "trend_90": accounts["trend_90"].to_numpy(),
            "earlier_scores": [kept_earlier.get(account, "{}") for account in account_ids.tolist()],
            "groups": groups_json,
            "measures": measures_json,
            "exceptions": [_json(items) for items in accounts[engine.EXCEPTIONS]],
            "missing_measures": [_json(list(keys)) for keys in accounts[engine.MISSING_MEASURES]],
            "biggest_lever": [
                _json({"measure": key, "gain": float(gain)}) if isinstance(key, str) else None
                for key, gain in zip(
                    accounts[engine.BIGGEST_LEVER_KEY],
                    accounts[engine.BIGGEST_LEVER_GAIN],
                    strict=True,
                )
            ],
            "error": "",
            "created_at": now,
        },
        columns=SNAPSHOT_COLUMNS,
    )


def _kept_earlier_scores(history: pd.DataFrame, *, as_of: date) -> dict[int, str]:
    """What a snapshot of ``as_of`` keeps of its trend windows' rescored earlier scores
    (`earlier_scores_for_trends` rows rescored with their lines), as JSON text per account:
    ``{"<days>": {"on", "overall", "lines"}}`` (read by comparisons.earlier_breakdown_kept).
    Accounts with none rescored are left out; their snapshots keep ``{}``."""
    is_kept = (
        history[comparisons.IS_RESCORED].to_numpy(dtype=bool)
        & history[comparisons.LINES].notna().to_numpy()
    )
    rescored = history[is_kept]
    kept: dict[int, dict] = {}
    for account_id, on, overall, lines in zip(
        rescored[engine.ACCOUNT_ID].tolist(),
        rescored[engine.AS_OF].dt.date.tolist(),
        rescored[engine.OVERALL].tolist(),
        rescored[comparisons.LINES].tolist(),
        strict=True,
    ):
        is_scored = overall == overall  # not NaN
        kept.setdefault(account_id, {})[str((as_of - on).days)] = {
            comparisons.ON: on.isoformat(),
            engine.OVERALL: overall if is_scored else None,
            comparisons.LINES: lines if is_scored else {},
        }
    return {account_id: _json(windows) for account_id, windows in kept.items()}


def _group_records(groups: pd.DataFrame) -> list[dict]:
    return [
        {
            "group_id": group_id,
            "name": name,
            "weight": weight,
            "score": score,
            "effective_weight": effective_weight,
        }
        for group_id, name, weight, score, effective_weight in zip(
            groups[engine.GROUP_ID].tolist(),
            groups[engine.GROUP_NAME].tolist(),
            groups[engine.WEIGHT].tolist(),
            groups[engine.SCORE].tolist(),
            groups[engine.EFFECTIVE_WEIGHT].round(6).tolist(),
            strict=True,
        )
    ]


def _measure_records(measures: pd.DataFrame) -> list[list]:
    """Rows in ScoreSnapshot.MEASURE_FIELDS order; built column by column, because a
    night's run has a row per account and measure. NaN stays NaN: orjson writes it as null."""
    return list(
        map(
            list,
            zip(
                measures[engine.MEASURE_KEY].tolist(),
                measures[engine.GROUP_ID].tolist(),
                measures[engine.RAW_VALUE].tolist(),
                measures[engine.SCORE].tolist(),
                _iso_dates(measures[engine.VALUE_AS_OF]),
                measures[engine.IS_STALE].tolist(),
                measures[engine.WEIGHT].tolist(),
                measures[engine.EFFECTIVE_WEIGHT].tolist(),
                measures[engine.CONTRIBUTION].tolist(),
                strict=True,
            ),
        )
    )


def _iso_dates(dates: pd.Series) -> list[str | None]:
    """YYYY-MM-DD text (None for NaT), formatting each distinct day once: a run has many
    rows but few distinct dates."""
    codes, days = pd.factorize(dates)
    texts = [day.strftime("%Y-%m-%d") for day in days] + [None]
    return [texts[code] for code in codes.tolist()]  # code −1 (NaT) picks the trailing None


def _json(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _json_lists(rows: pd.DataFrame, account_ids: np.ndarray, to_records) -> list[str]:
    """JSON text of each account's rows, in account_ids order ("[]" for an account with none).
    `rows` is sorted by account_id (the engine's order), so one split does the grouping."""
    rows = rows[rows[engine.ACCOUNT_ID].isin(account_ids)]
    records = to_records(rows)
    row_accounts = rows[engine.ACCOUNT_ID].to_numpy()
    starts = np.searchsorted(row_accounts, account_ids, side="left").tolist()
    ends = np.searchsorted(row_accounts, account_ids, side="right").tolist()
    return [_json(records[start:end]) for start, end in zip(starts, ends, strict=True)]


# --- Writing -------------------------------------------------------------------------------------


def snapshots_write(snapshots: pd.DataFrame) -> None:
    """Insert the snapshot rows, replacing any of the same account and date (one per account
    and day). PostgreSQL: COPY into a temporary table, then one multi-row upsert. Elsewhere:
    delete and bulk_create."""
    if snapshots.empty:
        return
    if connection.vendor == "postgresql":
        _snapshots_copy_upsert(snapshots)
    else:
        _snapshots_replace(snapshots)


def _snapshots_copy_upsert(snapshots: pd.DataFrame) -> None:
    frame_copy_to_temp_table(
        snapshots,
        temp_table="tmp_score_snapshots",
        like_table="scorecards_scoresnapshot",
        columns=SNAPSHOT_COLUMNS,
        not_null=("band", "previous_band", "error"),
    )
    columns = ", ".join(SNAPSHOT_COLUMNS)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in SNAPSHOT_COLUMNS if c not in ("account_id", "as_of")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO scorecards_scoresnapshot ({columns}) "
            f"SELECT {columns} FROM tmp_score_snapshots "
            f"ON CONFLICT (account_id, as_of) DO UPDATE SET {updates}"
        )


def _snapshots_replace(snapshots: pd.DataFrame) -> None:
    as_of = snapshots["as_of"].iloc[0]
    account_ids = snapshots["account_id"].astype(int).tolist()
    for start in range(0, len(account_ids), 500):
        ScoreSnapshot.objects.filter(
            as_of=as_of, account_id__in=account_ids[start : start + 500]
        ).delete()
    ScoreSnapshot.objects.bulk_create(
        [
            ScoreSnapshot(
                account_id=int(row.account_id),
                as_of=row.as_of,
                scorecard_id=int(row.scorecard_id),
                scorecard_version=int(row.scorecard_version),
                run_id=row.run_id,
                overall=_decimal_or_none(row.overall),
                computed=_decimal_or_none(row.computed),
                band=row.band,
                previous_band=row.previous_band,
                coverage=round(float(row.coverage), 4),
                trend_7=_decimal_or_none(row.trend_7),
                trend_30=_decimal_or_none(row.trend_30),
                trend_90=_decimal_or_none(row.trend_90),
                earlier_scores=orjson.loads(row.earlier_scores),
                groups=orjson.loads(row.groups),
                measures=orjson.loads(row.measures),
                exceptions=orjson.loads(row.exceptions),
                missing_measures=orjson.loads(row.missing_measures),
                biggest_lever=orjson.loads(row.biggest_lever) if row.biggest_lever else None,
                error=row.error,
            )
            for row in snapshots.itertuples(index=False)
        ],
        batch_size=1000,
    )


def _decimal_or_none(value) -> str | None:
    if value is None or value != value:
        return None
    return f"{float(value):.2f}"


def score_dates(*, as_of: date, days: int) -> list[date]:
    """The dates of a backfill of `days` days ending on `as_of`, oldest first so that each
    day's trend can read the days before it."""
    return [as_of - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
