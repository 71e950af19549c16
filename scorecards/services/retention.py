"""Retention of history, as CS Ops set it (RetentionPolicy): a beat task runs it nightly.

- Score snapshots: daily for `daily_snapshot_days` days; a month whose every day is older than
  that is thinned to one snapshot per account and week (the latest of the week, with its
  breakdown), and a snapshot that is an account's current score is always kept. On PostgreSQL
  the month's partition is rewritten with only the kept rows (copied to a new table that
  replaces the old partition), so no bloat is left behind.
- Measure values: kept `value_months` whole months before this month; an older month is
  dropped by detaching its partition, then dropping it, never by a row-by-row delete.

SQLite has no partitions: the same rows are deleted.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction

from scorecards.models import CurrentScore, MeasureValue, RetentionPolicy, ScoreSnapshot
from scorecards.services import partitions

THINNED_COMMENT = "thinned: one snapshot per account and week"
SNAPSHOTS = ScoreSnapshot._meta.db_table
VALUES = MeasureValue._meta.db_table
CURRENT = CurrentScore._meta.db_table


@dataclass
class RetentionResult:
    snapshot_cutoff: date  # snapshots before this day are kept weekly
    value_cutoff: date  # values before this day are gone
    thinned: dict[str, tuple[int, int]] = field(default_factory=dict)  # partition: before, after
    dropped: list[str] = field(default_factory=list)
    rows_deleted: int = 0  # SQLite, and stragglers of the default partition


def retention_cutoffs(*, today: date, policy: RetentionPolicy) -> tuple[date, date]:
    """(snapshot cutoff, value cutoff): both first days of a month, so that whole months are
    thinned or dropped. A month is thinned once its last day is more than
    `daily_snapshot_days` days old."""
    oldest_daily = today - timedelta(days=policy.daily_snapshot_days)
    snapshot_cutoff = partitions.month_start(oldest_daily)
    value_cutoff = partitions.month_add(partitions.month_start(today), -policy.value_months)
    return snapshot_cutoff, value_cutoff


def retention_apply(*, today: date, policy: RetentionPolicy | None = None) -> RetentionResult:
    policy = policy or RetentionPolicy.load()
    snapshot_cutoff, value_cutoff = retention_cutoffs(today=today, policy=policy)
    result = RetentionResult(snapshot_cutoff=snapshot_cutoff, value_cutoff=value_cutoff)
    if partitions.is_partitioned(SNAPSHOTS):
        _snapshots_thin_partitions(snapshot_cutoff, result)
    else:
        result.rows_deleted += _snapshots_thin_rows(snapshot_cutoff)
    if partitions.is_partitioned(VALUES):
        _values_drop_partitions(value_cutoff, result)
    else:
        result.rows_deleted += MeasureValue.objects.filter(as_of__lt=value_cutoff).delete()[0]
    return result


# --- Snapshots -----------------------------------------------------------------------------------


def _snapshots_thin_partitions(cutoff: date, result: RetentionResult) -> None:
    for partition in partitions.partitions_list(SNAPSHOTS):
        if partition.is_default or partition.end > cutoff or _is_thinned(partition.name):
            continue
        if not _has_rows(partition.name):  # nothing to thin (yet: a straggler may come)
            continue
        result.thinned[partition.name] = _partition_thin(partition)
    # A straggler in the default partition is moved to its month by the nightly maintenance
    # and thinned with it the night after.


def _is_thinned(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [name])
        return cursor.fetchone()[0] == THINNED_COMMENT


def _has_rows(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name})")
        return cursor.fetchone()[0]


def _partition_thin(partition: partitions.Partition) -> tuple[int, int]:
    """Rewrite one month's partition with one snapshot per account and week (the latest) and
    every current one; returns (rows before, rows after)."""
    name, table = partition.name, partition.table
    thinned = f"{name}_thinned"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{partitions.LOCK_TIMEOUT}'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # see partitions.partition_drop
        cursor.execute(f"SELECT count(*) FROM {name}")
        (before,) = cursor.fetchone()
        cursor.execute(
            f"CREATE TABLE {thinned} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"INSERT INTO {thinned} SELECT * FROM {name} WHERE id IN ("
            f"  SELECT DISTINCT ON (account_id, date_trunc('week', as_of)) id FROM {name} "
            "   ORDER BY account_id, date_trunc('week', as_of), as_of DESC, id DESC) "
            f"OR id IN (SELECT snapshot_id FROM {CURRENT} WHERE as_of >= %s AND as_of < %s)",
            [partition.start, partition.end],
        )
        after = cursor.rowcount
        cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")
        cursor.execute(f"ALTER TABLE {thinned} RENAME TO {name}")
        cursor.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [partition.start, partition.end],
        )
        cursor.execute(f"COMMENT ON TABLE {name} IS '{THINNED_COMMENT}'")
    return before, after


def _snapshots_thin_rows(cutoff: date) -> int:
    """Unpartitioned tables (SQLite): the same thinning as a delete (weeks from Monday, split
    at month ends, as the partitions split them)."""
    if connection.vendor == "postgresql":
        month, week = "date_trunc('month', as_of)", "date_trunc('week', as_of)"
    else:
        month, week = "strftime('%%Y-%%m', as_of)", "date(as_of, 'weekday 0', '-6 days')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {SNAPSHOTS} WHERE as_of < %s "
            f"AND id NOT IN (SELECT snapshot_id FROM {CURRENT}) "
            "AND id NOT IN (SELECT id FROM ("
            f"  SELECT id, row_number() OVER (PARTITION BY account_id, {month}, {week} "
            "    ORDER BY as_of DESC, id DESC) AS n "
            f"  FROM {SNAPSHOTS} WHERE as_of < %s) AS ranked WHERE n = 1)",
            [cutoff, cutoff],
        )
        return cursor.rowcount


# --- Values --------------------------------------------------------------------------------------


def _values_drop_partitions(cutoff: date, result: RetentionResult) -> None:
    for partition in partitions.partitions_list(VALUES):
        if not partition.is_default and partition.end <= cutoff:
            partitions.partition_drop(partition=partition)
            result.dropped.append(partition.name)
    with connection.cursor() as cursor:  # stragglers: a few rows at most
        cursor.execute(
            f"DELETE FROM {partitions.default_partition_name(VALUES)} WHERE as_of < %s", [cutoff]
        )
        result.rows_deleted += cursor.rowcount
