"""Bulk writes through COPY: a frame copied into a temporary table of the target's columns,
from which one INSERT … ON CONFLICT upserts (far faster than rows sent as SQL). PostgreSQL only."""

import csv
import io
from collections.abc import Sequence

import pandas as pd
from django.db import connection


def frame_copy_to_temp_table(
    frame: pd.DataFrame,
    *,
    temp_table: str,
    like_table: str,
    columns: Sequence[str],
    not_null: Sequence[str] = (),
) -> None:
    """Copy `frame` (its columns in the order of `columns`) into `temp_table`, made (once per
    connection) with those columns of `like_table` and emptied first. `not_null`: text columns
    whose empty strings stay empty strings rather than NULL. Call inside a transaction."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, quoting=csv.QUOTE_MINIMAL, na_rep="")
    buffer.seek(0)
    names = ", ".join(columns)
    force_not_null = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {temp_table} AS "
            f"SELECT {names} FROM {like_table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {temp_table}")
        # Django wraps execute() but not copy_expert(): wrapped, a lost connection raises
        # Django's OperationalError and marks the connection unusable (see
        # scorecards.selectors._copy_frame).
        with connection.wrap_database_errors:
            cursor.copy_expert(
                f"COPY {temp_table} ({names}) FROM STDIN WITH (FORMAT csv{force_not_null})",
                buffer,
            )
