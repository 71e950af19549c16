"""Monthly partitions of the history tables on PostgreSQL (score snapshots, measure values).

Each table is partitioned by month of `as_of` (migration 0011) and has a default partition
that catches a row whose month has no partition yet. `partitions_maintain` (a beat task,
daily) creates the months ahead and moves whatever landed in the default partition into a
partition of its own month; retention drops a month by detaching its partition, then
dropping it. Elsewhere (SQLite) the tables are plain and every function here does nothing.
"""

import re
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

from scorecards.models import MeasureValue, ScoreSnapshot

PARTITIONED_TABLES = (ScoreSnapshot._meta.db_table, MeasureValue._meta.db_table)
MONTHS_AHEAD = 3
# Maintenance waits at most this long for a lock (a long page query on the table) and
# tries again the next night, rather than queueing every query behind it.
LOCK_TIMEOUT = "10s"


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    start: date | None  # None for the default partition
    end: date | None

    @property
    def is_default(self) -> bool:
        return self.start is None


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def is_partitioned(table: str) -> bool:
    """True on PostgreSQL once migration 0011 has partitioned `table`."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0] == "p"


def partitions_list(table: str) -> list[Partition]:
    """The partitions of `table`, months in order, the default partition last."""
    if not is_partitioned(table):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [table],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound in rows:
        if bound == "DEFAULT":
            partitions.append(Partition(table, name, None, None))
        else:  # FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')
            start, end = (date.fromisoformat(part) for part in bound.split("'")[1::2])
            partitions.append(Partition(table, name, start, end))
    return sorted(partitions, key=lambda p: (p.is_default, p.start or date.max))


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def partition_create(*, table: str, month: date) -> int:
    """Make `month`'s partition of `table` if it is missing. Rows of that month waiting in the
    default partition are moved into it first (a partition cannot be added while the default
    one holds rows of its range). Returns the number of rows moved (0 when it existed)."""
    if not is_partitioned(table):
        return 0
    month = month_start(month)
    if any(p.start == month for p in partitions_list(table)):
        return 0
    name = partition_name(table, month)
    end = month_add(month, 1)
    default = default_partition_name(table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # Two runs may want the same month at once: one makes it, the other then finds it.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return 0
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE as_of >= %s AND as_of < %s "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [month, end],
        )
        moved = cursor.rowcount
        # Attaching builds the partition's indexes and checks its rows fit the range.
        cursor.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [month, end],
        )
    return max(moved, 0)


def partitions_create_ahead(*, today: date, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Partitions from this month to `months_ahead` months ahead, for every history table.
    Returns the names of those created."""
    created = []
    for table in PARTITIONED_TABLES:
        if not is_partitioned(table):
            continue
        existing = {p.start for p in partitions_list(table)}
        for offset in range(months_ahead + 1):
            month = month_add(month_start(today), offset)
            if month not in existing:
                partition_create(table=table, month=month)
                created.append(partition_name(table, month))
    return created


def default_partition_drain(*, table: str) -> int:
    """Move every row of the default partition into a partition of its month (created as
    needed). Returns the number of rows moved."""
    if not is_partitioned(table):
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', as_of)::date FROM {default_partition_name(table)}"
        )
        months = sorted(row[0] for row in cursor.fetchall())
    return sum(partition_create(table=table, month=month) for month in months)


def partitions_ensure(*, first: date, last: date) -> None:
    """Partitions for every month from `first` to `last` (a backfill or a bulk load), so that
    its rows go straight to their month rather than through the default partition."""
    for table in PARTITIONED_TABLES:
        if not is_partitioned(table):
            continue
        existing = {p.start for p in partitions_list(table)}
        month = month_start(first)
        while month <= last:
            if month not in existing:
                partition_create(table=table, month=month)
            month = month_add(month, 1)


@dataclass(frozen=True)
class MaintenanceResult:
    created: list[str]
    moved: dict[str, int]


def partitions_maintain(*, today: date) -> MaintenanceResult:
    """The nightly step: months ahead created, stragglers moved out of the default partition."""
    created = partitions_create_ahead(today=today)
    moved = {table: default_partition_drain(table=table) for table in PARTITIONED_TABLES}
    return MaintenanceResult(created=created, moved=moved)


def partition_drop(*, partition: Partition) -> None:
    """Detach a month's partition, then drop it: the month's rows go at once, without a
    row-by-row delete or the bloat it leaves."""
    if partition.is_default:
        raise ValueError("The default partition is never dropped.")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # Deferred foreign-key checks of rows written earlier in this transaction must run
        # before their table goes.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {partition.table} DETACH PARTITION {partition.name}")
        cursor.execute(f"DROP TABLE {partition.name}")


def partition_rows(partition: Partition) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partition.name}")
        return cursor.fetchone()[0]


# The earliest date a PostgreSQL date column holds: a bound that excludes nothing.
NO_LOWER_BOUND = date(1, 1, 1)


def history_lower_bound(*, table: str, on_or_before: date) -> date:
    """A lower bound on `as_of` that excludes none of `table`'s rows dated on or before
    `on_or_before`, and lets PostgreSQL leave out the default partition.

    A "latest value on or before D" probe (ORDER BY as_of DESC LIMIT 1) that may reach the
    default partition is planned as a Merge Append that opens every month's partition and
    the default one on each probe; with the default partition excluded by the bound, the
    months are read newest first and the probe usually stops in the first. The bound is the
    start of the oldest month when the default partition holds nothing dated on or before
    D (the steady state: maintenance moves stragglers out), else NO_LOWER_BOUND."""
    oldest, has_default = _oldest_month_by_name(table)
    if oldest is None:
        return NO_LOWER_BOUND
    if not has_default:
        return oldest
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {default_partition_name(table)} WHERE as_of <= %s)",
            [on_or_before],
        )
        (stragglers,) = cursor.fetchone()
    return NO_LOWER_BOUND if stragglers else oldest


def _oldest_month_by_name(table: str) -> tuple[date | None, bool]:
    """The first day of `table`'s oldest month partition, read from the partitions' names
    (partition_name), or None when the table is not partitioned or a partition has a name
    this module did not give it; and whether the table has its default partition.

    Unlike partitions_list, reads the catalog without locking the partitions (deparsing a
    partition's bound locks it), so a chunk's read does not wait here behind maintenance
    that holds a month."""
    if connection.vendor != "postgresql":
        return None, False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [name for (name,) in cursor.fetchall()]
    has_default = default_partition_name(table) in names
    month_name = re.compile(rf"{re.escape(table)}_p(\d{{4}})_(0[1-9]|1[0-2])")
    months = []
    for name in names:
        if name == default_partition_name(table):
            continue
        named = month_name.fullmatch(name)
        if named is None:
            return None, has_default
        months.append(date(int(named[1]), int(named[2]), 1))
    return min(months, default=None), has_default
