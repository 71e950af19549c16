"""Reads for scoring: the frames the pure engine takes, loaded in a few set-based queries."""

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import pandas as pd
from django.db import connection

from accounts.models import Account
from scorecards import engine
from scorecards.models import (
    Band,
    ExceptionRule,
    MeasureGroup,
    MeasureValue,
    Scorecard,
    ScorecardMeasure,
)
from scorecards.services import partitions

TREND_WINDOWS = (7, 30, 90)


def lowest_bands() -> dict[int, str]:
    """Each scorecard's lowest band (Red in the default scheme; F in an A–F one): its
    accounts' ARR is at risk, and entering it raises turned_red."""
    lowest: dict[int, str] = {}
    for scorecard_id, label in Band.objects.order_by("scorecard_id", "-min_score").values_list(
        "scorecard_id", "label"
    ):
        lowest[scorecard_id] = label
    return lowest


def band_tiers() -> dict[tuple[int, str], str]:
    """(scorecard_id, band label) → its tier (PRODUCT.md "Portfolio tiers"), in one query."""
    return {
        (scorecard_id, label): tier
        for scorecard_id, label, tier in Band.objects.values_list("scorecard_id", "label", "tier")
    }


@dataclass(frozen=True)
class ScorecardFrames:
    """Every scorecard's definition as the engine's input frames (see engine.score_accounts)."""

    scorecards: pd.DataFrame
    groups: pd.DataFrame
    measures: pd.DataFrame
    bands: pd.DataFrame
    exception_rules: pd.DataFrame
    assignment_rules: pd.DataFrame
    versions: dict[int, int]


def scorecard_frames() -> ScorecardFrames:
    """All scorecards, with their groups, measures, bands, exception rules and assignment
    rules, in six queries. Small: a portfolio has a handful of scorecards."""
    cards = list(Scorecard.objects.all())
    scorecards = pd.DataFrame(
        [{engine.SCORECARD_ID: c.pk, engine.MIN_COVERAGE: float(c.min_coverage)} for c in cards],
        columns=[engine.SCORECARD_ID, engine.MIN_COVERAGE],
    )
    assignment_rules = pd.DataFrame(
        [
            {
                engine.SCORECARD_ID: c.pk,
                engine.PRIORITY: c.priority,
                engine.SEGMENTS: list(c.segments),
                engine.TIERS: list(c.tiers),
                engine.LIFECYCLES: list(c.lifecycles),
                engine.IS_DEFAULT: c.is_default,
            }
            for c in cards
        ],
        columns=[
            engine.SCORECARD_ID,
            engine.PRIORITY,
            engine.SEGMENTS,
            engine.TIERS,
            engine.LIFECYCLES,
            engine.IS_DEFAULT,
        ],
    )
    groups = pd.DataFrame(
        [
            {
                engine.SCORECARD_ID: g.scorecard_id,
                engine.GROUP_ID: g.pk,
                engine.GROUP_NAME: g.name,
                engine.WEIGHT: float(g.weight),
                engine.POSITION: g.position,
            }
            for g in MeasureGroup.objects.all()
        ],
        columns=[
            engine.SCORECARD_ID,
            engine.GROUP_ID,
            engine.GROUP_NAME,
            engine.WEIGHT,
            engine.POSITION,
        ],
    )
    measures = pd.DataFrame(
        [
            {
                engine.SCORECARD_ID: m.scorecard_id,
                engine.GROUP_ID: m.group_id,
                engine.MEASURE_ID: m.measure_id,
                engine.MEASURE_KEY: m.measure.key,
                engine.WEIGHT: float(m.weight),
                engine.MAPPING_TYPE: m.measure.mapping_type,
                engine.LO: m.measure.lo,
                engine.HI: m.measure.hi,
                engine.HIGHER_IS_BETTER: m.measure.higher_is_better,
                engine.STEPS: m.measure.steps,
                engine.MAX_AGE_DAYS: (
                    float(m.measure.max_age_days) if m.measure.max_age_days is not None else None
                ),
                engine.POSITION: m.position,
            }
            for m in ScorecardMeasure.objects.select_related("measure", "group").order_by(
                "scorecard_id", "group__position", "group_id", "position", "id"
            )
        ],
        columns=[
            engine.SCORECARD_ID,
            engine.GROUP_ID,
            engine.MEASURE_ID,
            engine.MEASURE_KEY,
            engine.WEIGHT,
            engine.MAPPING_TYPE,
            engine.LO,
            engine.HI,
            engine.HIGHER_IS_BETTER,
            engine.STEPS,
            engine.MAX_AGE_DAYS,
            engine.POSITION,
        ],
    ).astype({engine.LO: float, engine.HI: float, engine.MAX_AGE_DAYS: float})
    bands = pd.DataFrame(
        [
            {
                engine.SCORECARD_ID: b.scorecard_id,
                engine.LABEL: b.label,
                engine.MIN: float(b.min_score),
            }
            for b in Band.objects.all()
        ],
        columns=[engine.SCORECARD_ID, engine.LABEL, engine.MIN],
    )
    exception_rules = pd.DataFrame(
        [
            {
                engine.SCORECARD_ID: r.scorecard_id,
                engine.RULE_ID: r.pk,
                engine.MEASURE_ID: r.measure_id,
                engine.OP: r.op,
                engine.VALUE: float(r.value),
                engine.ACTION: r.action,
                engine.BAND: r.band or None,
                engine.SCORE: float(r.score) if r.score is not None else float("nan"),
                engine.REASON: r.reason,
            }
            for r in ExceptionRule.objects.all()
        ],
        columns=[
            engine.SCORECARD_ID,
            engine.RULE_ID,
            engine.MEASURE_ID,
            engine.OP,
            engine.VALUE,
            engine.ACTION,
            engine.BAND,
            engine.SCORE,
            engine.REASON,
        ],
    )
    return ScorecardFrames(
        scorecards=scorecards,
        groups=groups,
        measures=measures,
        bands=bands,
        exception_rules=exception_rules,
        assignment_rules=assignment_rules,
        versions={c.pk: c.version for c in cards},
    )


def active_account_ids(*, account_ids: list[int] | None = None) -> list[int]:
    """Ids of the active accounts a run scores, ascending (all of them, or the given ones)."""
    accounts = Account.objects.filter(status=Account.Status.ACTIVE)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    return list(accounts.order_by("pk").values_list("pk", flat=True))


def accounts_frame(*, first_id: int, last_id: int) -> pd.DataFrame:
    """Active accounts with ids in [first_id, last_id]: account_id, segment, tier, lifecycle."""
    rows = (
        Account.objects.filter(status=Account.Status.ACTIVE, pk__gte=first_id, pk__lte=last_id)
        .order_by("pk")
        .values_list("pk", "segment", "tier", "lifecycle")
    )
    return pd.DataFrame(
        list(rows),
        columns=[engine.ACCOUNT_ID, engine.SEGMENT, engine.TIER, engine.LIFECYCLE],
    )


# Below about this many stored values per (account, measure), reading the short histories in
# index order beats one index probe per pair; above it, probing wins. Measured on monthly
# partitions, 10,000 accounts × 10 measures: the scan of 20 values a pair in one month took
# 0.46 s against 0.60 s for the probe, the scan of 30 a pair across two months 1.3 s (a Merge
# Append of both) against the same 0.60 s.
SCAN_MAX_VALUES_PER_PAIR = 20
LATEST_BY_SCAN = (
    "SELECT DISTINCT ON (account_id, measure_id) account_id, measure_id, raw_value, as_of, id "
    "FROM scorecards_measurevalue WHERE account_id BETWEEN %s AND %s "
    "AND as_of <= %s AND as_of >= %s "
    "ORDER BY account_id, measure_id, as_of DESC, id DESC"
)
LATEST_BY_PROBE = (
    "SELECT a.id, m.id, v.raw_value, v.as_of, v.id "
    "FROM accounts_account a CROSS JOIN scorecards_measure m "
    "CROSS JOIN LATERAL (SELECT raw_value, as_of, id FROM scorecards_measurevalue mv "
    "  WHERE mv.account_id = a.id AND mv.measure_id = m.id AND mv.as_of <= %s "
    "  AND mv.as_of >= %s "
    "  ORDER BY mv.as_of DESC, mv.id DESC LIMIT 1) v "
    "WHERE a.id BETWEEN %s AND %s"
)


def latest_values_frame(
    *, first_id: int, last_id: int, as_of: date, strategy: str | None = None
) -> pd.DataFrame:
    """The latest value on or before `as_of` of every measure of the accounts with ids in
    [first_id, last_id] (rule 2): account_id, measure_id, raw_value, as_of, value_id.

    On PostgreSQL both ways read only the `measurevalue_latest` covering index and stream the
    result with COPY: "scan" walks each pair's history in index order and keeps the first row
    (DISTINCT ON), cheap while histories are short; "probe" makes one LIMIT 1 probe per pair
    (LATERAL), whose cost does not grow with the history. `strategy` None picks by the
    table's size per pair. Elsewhere the whole history up to `as_of` is read and the engine
    picks the latest. On equal dates the later-written value (higher id) wins, in all three.
    """
    columns = [
        engine.ACCOUNT_ID,
        engine.MEASURE_ID,
        engine.RAW_VALUE,
        engine.AS_OF,
        engine.VALUE_ID,
    ]
    if connection.vendor == "postgresql":
        strategy = strategy or _latest_values_strategy()
        since = _values_lower_bound(as_of)
        if strategy == "scan":
            frame = _copy_frame(LATEST_BY_SCAN, [first_id, last_id, as_of, since], columns)
        else:
            frame = _copy_frame(LATEST_BY_PROBE, [as_of, since, first_id, last_id], columns)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT account_id, measure_id, raw_value, as_of, id "
                "FROM scorecards_measurevalue "
                "WHERE account_id BETWEEN %s AND %s AND as_of <= %s",
                [first_id, last_id, as_of],
            )
            frame = pd.DataFrame(cursor.fetchall(), columns=columns)
    frame[engine.AS_OF] = engine.days(frame[engine.AS_OF])
    # A value dated outside what pandas holds (stored before healthscore.dates' window) is
    # no value: the measure is missing rather than the chunk failing.
    frame = frame[frame[engine.AS_OF].notna()].reset_index(drop=True)
    return frame.astype(
        {
            engine.ACCOUNT_ID: "int64",
            engine.MEASURE_ID: "int64",
            engine.RAW_VALUE: float,
            engine.VALUE_ID: "int64",
        }
    )


LATEST_OF_ACCOUNTS = (
    "SELECT DISTINCT ON (account_id, measure_id) account_id, measure_id, raw_value, as_of, id "
    "FROM scorecards_measurevalue WHERE account_id = ANY(%s) AND as_of <= %s AND as_of >= %s "
    "ORDER BY account_id, measure_id, as_of DESC, id DESC"
)


def latest_values_of_accounts_frame(
    *,
    account_ids: list[int],
    as_of: date,
    first_id: int | None = None,
    last_id: int | None = None,
) -> pd.DataFrame:
    """The latest value on or before `as_of` of every measure of the given accounts (rule 2),
    in the shape of `latest_values_frame`; used to rescore an earlier date (rule 13).

    When the accounts are most of an id range (a run's chunk after a publish), the range is
    read as `latest_values_frame` reads it; a few accounts are read by id. Values of other
    accounts in the range are harmless: the engine scores the assigned accounts only."""
    if not account_ids:
        return latest_values_frame(first_id=0, last_id=-1, as_of=as_of)
    if (
        first_id is not None
        and last_id is not None
        and len(account_ids) * 2 >= (last_id - first_id + 1)
    ):
        return latest_values_frame(first_id=first_id, last_id=last_id, as_of=as_of)
    if connection.vendor != "postgresql":
        return latest_values_frame(first_id=min(account_ids), last_id=max(account_ids), as_of=as_of)
    columns = [
        engine.ACCOUNT_ID,
        engine.MEASURE_ID,
        engine.RAW_VALUE,
        engine.AS_OF,
        engine.VALUE_ID,
    ]
    frame = _copy_frame(
        LATEST_OF_ACCOUNTS, [sorted(account_ids), as_of, _values_lower_bound(as_of)], columns
    )
    frame[engine.AS_OF] = engine.days(frame[engine.AS_OF])
    frame = frame[frame[engine.AS_OF].notna()].reset_index(drop=True)  # see latest_values_frame
    return frame.astype(
        {
            engine.ACCOUNT_ID: "int64",
            engine.MEASURE_ID: "int64",
            engine.RAW_VALUE: float,
            engine.VALUE_ID: "int64",
        }
    )


def _values_lower_bound(as_of: date) -> date:
    """See partitions.history_lower_bound: keeps the latest-value reads out of the default
    partition when it holds nothing they need."""
    return partitions.history_lower_bound(table=MeasureValue._meta.db_table, on_or_before=as_of)


def _latest_values_strategy() -> str:
    """ "scan" while the planner's row estimates say histories are short, else "probe"."""
    with connection.cursor() as cursor:
        cursor.execute(
            # Partitioned (monthly): the parent has no estimate of its own, its partitions do.
            "SELECT (SELECT coalesce(sum(greatest(reltuples, 0)), 0) FROM pg_class "
            "        WHERE (oid = 'scorecards_measurevalue'::regclass AND relkind = 'r') "
            "           OR oid IN (SELECT inhrelid FROM pg_inherits "
            "                      WHERE inhparent = 'scorecards_measurevalue'::regclass)), "
            "       (SELECT reltuples FROM pg_class WHERE oid = 'accounts_account'::regclass), "
            "       (SELECT count(*) FROM scorecards_measure)"
        )
        values, accounts, measures = cursor.fetchone()
    if values <= 0 or accounts <= 0 or not measures:  # never analysed: no estimate
        return "probe"
    return "scan" if values / (accounts * measures) <= SCAN_MAX_VALUES_PER_PAIR else "probe"


def copy_frames(sql: str, params_list: list[list], columns: list[str]) -> pd.DataFrame:
    """The rows of `sql` run once per parameter list, concatenated in that order.

    Outside a transaction each part runs in a thread on a connection of its own, so that
    PostgreSQL reads them on several cores at once. Inside one, the parts run one after the
    other on this connection: other connections would not see its uncommitted rows."""
    if len(params_list) < 2 or connection.in_atomic_block:
        frames = [_copy_frame(sql, params, columns) for params in params_list]
    else:
        with ThreadPoolExecutor(max_workers=len(params_list)) as pool:
            frames = list(
                pool.map(lambda params: _copy_frame_in_thread(sql, params, columns), params_list)
            )
    return pd.concat(frames, ignore_index=True)


def _copy_frame_in_thread(sql: str, params: list, columns: list[str]) -> pd.DataFrame:
    try:
        return _copy_frame(sql, params, columns)
    finally:
        connection.close()  # this thread's own connection, which nothing else would close


def _copy_frame(sql: str, params: list, columns: list[str]) -> pd.DataFrame:
    """Stream a PostgreSQL query through COPY into a DataFrame: far faster than fetching rows
    one Python tuple at a time."""
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
        # Django wraps execute() but not copy_expert(): wrapped, a lost connection raises
        # Django's OperationalError and marks the connection unusable, so the retry of the
        # task (scorecards.tasks) gets a new one.
        with connection.wrap_database_errors:
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, names=columns, header=None, quoting=csv.QUOTE_MINIMAL)
