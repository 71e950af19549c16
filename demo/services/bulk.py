"""Bulk writes of the demo rows: primary keys reserved up front, COPY on PostgreSQL with
indexes rebuilt after big loads, executemany on SQLite."""

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from django.db import connection, models

from demo.services.shape import BULK_LOAD_MIN_ROWS, SQLITE_CHUNK_ROWS

# --- Bulk writes ---------------------------------------------------------------------------------


def ids_reserve(model: type[models.Model], count: int) -> np.ndarray:
    """Take ``count`` primary keys for ``model`` that no other writer can take.

    PostgreSQL: from the table's sequence. SQLite: past the highest id ever given; the seed's
    transaction already wrote (the demo users), so it holds SQLite's single write lock and no
    other connection can insert until it commits.
    """
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return np.sort(np.array([row[0] for row in cursor.fetchall()], dtype=np.int64))
        if connection.vendor == "sqlite":
            quoted = connection.ops.quote_name
            cursor.execute(f"SELECT COALESCE(MAX({quoted(column)}), 0) FROM {quoted(table)}")
            highest = cursor.fetchone()[0]
            # AUTOINCREMENT never reuses an id, even of a deleted row.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            highest = max(highest, row[0] if row else 0)
            return np.arange(highest + 1, highest + count + 1, dtype=np.int64)
    raise NotImplementedError(f"seed_demo supports PostgreSQL and SQLite, not {connection.vendor}.")


def rows_insert(model: type[models.Model], rows: pd.DataFrame) -> None:
    """Insert ``rows`` (columns named after ``model``'s table columns) in one statement stream:
    COPY on PostgreSQL, executemany elsewhere. Big loads rebuild the indexes afterwards
    (:func:`indexes_rebuilt_after`).

    Values must be ready for the database: ints, floats, ISO date strings, timestamps from
    ``timestamp``; None / NA for NULL. Without an ``id`` column the database numbers the rows.
    """
    if rows.empty:
        return
    if len(rows) < BULK_LOAD_MIN_ROWS:
        _rows_write(model, rows)
        return
    with indexes_rebuilt_after(model):
        _rows_write(model, rows)


def _rows_write(model: type[models.Model], rows: pd.DataFrame) -> None:
    quoted = connection.ops.quote_name
    table = quoted(model._meta.db_table)
    columns = ", ".join(quoted(column) for column in rows.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # NULL is \N, so that an empty string stays an empty string.
            cursor.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                _CsvChunks(rows),
                1 << 16,  # bytes per read
            )
            return
        placeholders = ", ".join(["%s"] * len(rows.columns))
        # In chunks, so that only a chunk at a time exists as Python tuples.
        for start in range(0, len(rows), SQLITE_CHUNK_ROWS):
            chunk = rows.iloc[start : start + SQLITE_CHUNK_ROWS]
            as_lists = [_python_values(chunk[column]) for column in chunk.columns]
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                list(zip(*as_lists, strict=True)),
            )


class _CsvChunks(io.TextIOBase):
    """``rows`` as CSV for COPY, formatted a chunk at a time as COPY reads: PostgreSQL parses
    one chunk while the next is formatted, so both cores work."""

    def __init__(self, rows: pd.DataFrame, chunk_rows: int = 20_000) -> None:
        self._rows = rows
        self._chunk_rows = chunk_rows
        self._next_row = 0
        self._buffer = io.StringIO()

    def read(self, size: int | None = -1) -> str:
        text = self._buffer.read(size)
        while not text and self._next_row < len(self._rows):
            chunk = self._rows.iloc[self._next_row : self._next_row + self._chunk_rows]
            self._next_row += self._chunk_rows
            self._buffer = io.StringIO(
                chunk.to_csv(index=False, header=False, quoting=csv.QUOTE_MINIMAL, na_rep=r"\N")
            )
            text = self._buffer.read(size)
        return text


@contextmanager
def indexes_rebuilt_after(model: type[models.Model]) -> Iterator[None]:
    """Drop the table's secondary indexes, and on PostgreSQL its unique and foreign-key
    constraints, for the duration of a load; then re-create them from their catalog definitions.

    This is the databases' own advice for populating a table: one index build over all rows is
    much faster than updating every index row by row, and validating a foreign key with one
    query much faster than a trigger call per row. Loading the 1.5 million measure values of
    10,000 accounts on the (busy) 2-core test machine took PostgreSQL 96 s with its 8 indexes
    and 3 foreign keys in place and 39 s this way; SQLite 26 s and 19 s.

    The definitions are read back from the catalog, so the table ends exactly as it was. The DDL
    is part of the seed's transaction: a failure rolls it back with the rows. Until the seed
    commits, the table is locked for other writers, and on PostgreSQL, where dropping a foreign
    key locks the table it references too, accounts, users and measures are locked for readers
    as well: run big seeds when nobody uses the app. Small loads (BULK_LOAD_MIN_ROWS) skip this.
    """
    table = model._meta.db_table
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            drop_sql, create_sql = _postgresql_index_ddl(cursor, table)
            # PostgreSQL refuses to alter a table with foreign-key checks still queued in the
            # transaction (every earlier insert queued some): run them now. Django makes every
            # foreign key DEFERRABLE INITIALLY DEFERRED, so ALL DEFERRED restores the default.
            drop_sql.insert(0, "SET CONSTRAINTS ALL IMMEDIATE")
            create_sql.append("SET CONSTRAINTS ALL DEFERRED")
            # Index builds sort in memory up to this much (the default is 64 MB).
            drop_sql.append("SET LOCAL maintenance_work_mem = '256MB'")
        else:
            # SQLite keeps unique constraints inside the table (their sql IS NULL): they stay.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
                [table],
            )
            indexes = cursor.fetchall()
            drop_sql = [f"DROP INDEX {quoted(name)}" for name, _ in indexes]
            create_sql = [sql for _, sql in indexes]
        for sql in drop_sql:
            cursor.execute(sql)
    yield
    with connection.cursor() as cursor:
        for sql in create_sql:
            cursor.execute(sql)


def _postgresql_index_ddl(cursor, table: str) -> tuple[list[str], list[str]]:
    """The statements that drop a table's unique and foreign-key constraints and its other
    non-primary indexes, and those that re-create them: unique constraints and indexes first,
    so that each foreign key is then validated in one pass."""
    quoted = connection.ops.quote_name
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
        "ORDER BY i.relname",
        [table],
    )
    indexes = cursor.fetchall()
    alter = f"ALTER TABLE {quoted(table)}"
    drop_sql = [f"{alter} DROP CONSTRAINT {quoted(name)}" for name, _, _ in constraints]
    drop_sql += [f"DROP INDEX {quoted(name)}" for name, _ in indexes]
    add = {kind: [] for kind in ("u", "f")}
    for name, kind, definition in constraints:
        add[kind].append(f"{alter} ADD CONSTRAINT {quoted(name)} {definition}")
    create_sql = add["u"] + [index_cascading(definition) for _, definition in indexes] + add["f"]
    return drop_sql, create_sql


def index_cascading(definition: str) -> str:
    """An index definition read back from the catalog, made to build on every partition.

    For a partitioned table the catalog says ``CREATE INDEX … ON ONLY table``: run as it is,
    that makes an invalid index on the parent alone and leaves the partitions with none."""
    return definition.replace(" ON ONLY ", " ON ", 1)


def _python_values(column: pd.Series) -> list:
    """A column as plain Python values (the sqlite3 driver rejects numpy scalars), NULL as None."""
    if column.dtype == object:
        return [None if value is None or value is pd.NA else value for value in column.tolist()]
    if column.hasnans:
        return column.astype(object).where(column.notna(), None).tolist()
    return column.tolist()
