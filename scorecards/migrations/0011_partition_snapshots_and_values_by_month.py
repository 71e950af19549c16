"""PostgreSQL: score snapshots and measure values become tables partitioned by month of
`as_of`, with a default partition for stragglers. SQLite (and any other database) keeps plain
tables, and Django's model state does not change: this migration only rewrites storage.

Each table is converted in place: renamed aside, a partitioned table of the same name and
columns created (identity kept, restarted after the highest id), one partition per month from
the oldest row to three months ahead, the rows copied, the old table dropped, then the same
constraints and indexes added under their old names. A partitioned table's primary key and
unique constraints must contain the partition key: the primary key becomes (id, as_of); the
product's unique constraints (one snapshot per account and day, the values' idempotency key)
already contain `as_of` and are kept as they were.

The current score's database foreign key to its snapshot cannot survive (it would need a
unique `id` alone); Django still cascades deletes of snapshots to current scores, and
retention never removes a snapshot that is some account's current score.

The copy runs in the migration's transaction: on a large database, plan a maintenance window
(reversing it took 144 s for 3 million values on the shared 2-core machine; README).
"""

from datetime import date

from django.db import migrations

TABLES = ("scorecards_scoresnapshot", "scorecards_measurevalue")
KEY = "as_of"
MONTHS_AHEAD = 3


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def _fetchall(cursor, sql: str, params=None) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _is_partitioned(cursor, table: str) -> bool:
    rows = _fetchall(cursor, "SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])
    return rows[0][0] == "p"


def _definitions(cursor, table: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(own constraints, indexes that back no constraint, foreign keys of other tables)."""
    constraints = _fetchall(
        cursor,
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass ORDER BY contype = 'p' DESC, conname",
        [table],
    )
    indexes = _fetchall(
        cursor,
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass) ORDER BY indexname",
        [table, table],
    )
    referencing = _fetchall(
        cursor,
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE confrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return constraints, indexes, referencing


def _rebuild(cursor, table: str, *, partitioned: bool) -> None:
    constraints, indexes, referencing = _definitions(cursor, table)
    for other, name in referencing:
        cursor.execute(f'ALTER TABLE {other} DROP CONSTRAINT "{name}"')
    old = f"{table}_unpartitioned" if partitioned else f"{table}_partitioned"
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    partition_by = f" PARTITION BY RANGE ({KEY})" if partitioned else ""
    cursor.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY){partition_by}"
    )
    if partitioned:
        first, last = _fetchall(cursor, f"SELECT min({KEY}), max({KEY}) FROM {old}")[0]
        month = _month_start(first or date.today())
        end = _month_start(date.today())
        for _ in range(MONTHS_AHEAD):
            end = _next_month(end)
        end = max(end, _month_start(last or end))
        while month <= end:
            cursor.execute(
                f"CREATE TABLE {_partition_name(table, month)} PARTITION OF {table} "
                "FOR VALUES FROM (%s) TO (%s)",
                [month, _next_month(month)],
            )
            month = _next_month(month)
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"coalesce((SELECT max(id) FROM {table}), 1), "
        f"(SELECT max(id) FROM {table}) IS NOT NULL)"
    )
    cursor.execute(f"DROP TABLE {old} CASCADE")  # its partitions too, when it had them
    sequence = _fetchall(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]
    if sequence.split(".")[-1] != f"{table}_id_seq":
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {table}_id_seq")
    for name, kind, definition in constraints:
        if kind == "p":
            definition = f"PRIMARY KEY (id, {KEY})" if partitioned else "PRIMARY KEY (id)"
        elif kind == "u" and partitioned and KEY not in definition:
            raise RuntimeError(f"{table}: unique constraint {name} lacks the partition key")
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        cursor.execute(definition)
    cursor.execute(f"ANALYZE {table}")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            if not _is_partitioned(cursor, table):
                _rebuild(cursor, table, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            if _is_partitioned(cursor, table):
                _rebuild(cursor, table, partitioned=False)
        # The current score's foreign key, dropped when its snapshots were partitioned.
        cursor.execute(
            "ALTER TABLE scorecards_currentscore ADD CONSTRAINT "
            "scorecards_currentscore_snapshot_id_fk FOREIGN KEY (snapshot_id) "
            "REFERENCES scorecards_scoresnapshot (id) DEFERRABLE INITIALLY DEFERRED"
        )


class Migration(migrations.Migration):
    # After the other changes of the same release to these tables, so that the partitioned
    # tables are made with their final columns.
    dependencies = [
        ("scorecards", "0010_snapshot_no_foreign_key_indexes"),
        ("scorecards", "0011_band_tier"),
        ("scorecards", "0011_measure_source"),
        ("scorecards", "0011_score_run_progressed_at"),
        ("scorecards", "0011_snapshot_previous_band"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
