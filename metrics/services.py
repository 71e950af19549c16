"""Writes of usage metrics: declaring metrics, ingesting daily values (API and CSV, all or
nothing), bulk loads with COPY, and the month partitions of the values table.

A value row is ``{"account": external_id, "metric": key, "date": "YYYY-MM-DD", "value": number}``.
It is valid when the account exists and the caller may see it, the metric is declared, the date
is a date from 1900-01-01 to today, the value a finite number, and no other row of the same
request (or CSV batch) has the same account, metric and date. A valid row replaces the stored
value of its account, metric and date (a resend is idempotent).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from accounts.bulk import (
    BATCH_SIZE,
    IngestionError,
    RowError,
    UpsertResult,
    accounts_by_external_id,
    slices,
    unknown_account_message,
)
from accounts.csv_files import CsvColumns, CsvImportResult, csv_import
from metrics import copy_binary
from metrics.models import Metric, MetricValue

COLUMNS = ("account", "metric", "date", "value")
FIELDS = frozenset(COLUMNS)
METRIC_VALUE_COLUMNS = CsvColumns(required=COLUMNS)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIRST_DATE = date(1900, 1, 1)
TABLE = MetricValue._meta.db_table
# How many months ahead the beat task keeps partitions ready.
MONTHS_AHEAD = 3

Key = tuple[int, int, date]  # account_id, metric_id, date


# --- Metrics -------------------------------------------------------------------------------------


@transaction.atomic
def metric_create(*, key: str, name: str, unit: str = "") -> Metric:
    """Declare a metric; its values are accepted from then on."""
    metric = Metric(key=key, name=name, unit=unit)
    metric.full_clean()
    metric.save()
    return metric


# --- Values: checking ----------------------------------------------------------------------------


@dataclass
class ValidMetricValues:
    """Checked rows ready to write: per (account_id, metric_id, date), the value."""

    values: dict[Key, float] = field(default_factory=dict)


def metric_values_validate(
    *,
    rows: Sequence[Any],
    user: AbstractBaseUser | None,
    today: date,
    row_numbers: Sequence[int] | None = None,
) -> tuple[ValidMetricValues, list[RowError]]:
    """Check every row (one query for the accounts, one for the metrics); writes nothing.

    `user` None means every account (a management command). Returns the rows to write and
    every error, one per bad field; a row repeating an earlier row's account, metric and date
    is bad (it names the earlier row).

    The rows are first checked column by column, all at once; only when that finds any
    problem are they checked again one by one, which words every error with its row number.
    Both accept exactly the same rows (tests/metrics/test_services.py)."""
    objects = [row if isinstance(row, dict) else None for row in rows]
    account_ids = accounts_by_external_id(
        external_ids=[row.get("account") for row in objects if row is not None], user=user
    )
    metric_ids = dict(Metric.objects.values_list("key", "pk"))
    valid = _columns_validate(rows, account_ids=account_ids, metric_ids=metric_ids, today=today)
    if valid is not None:
        return valid, []
    numbers = list(row_numbers) if row_numbers is not None else list(range(len(rows)))
    return _rows_validate(
        objects, numbers, account_ids=account_ids, metric_ids=metric_ids, today=today
    )


def _columns_validate(
    rows: Sequence[Any], *, account_ids: dict[str, int], metric_ids: dict[str, int], today: date
) -> ValidMetricValues | None:
    """The checked values when every row is valid, else None. Each pass runs over a whole
    column in C (map, set, dict lookups) and each distinct date is parsed once: a Python
    step per field of 10,000 rows was most of a request's time."""
    if set(map(type, rows)) != {dict} or not all(row.keys() == FIELDS for row in rows):
        return None
    accounts, metrics, dates, values = (list(map(itemgetter(name), rows)) for name in COLUMNS)
    if set(map(type, accounts)) != {str} or set(map(type, metrics)) != {str}:
        return None
    account_column = list(map(account_ids.get, accounts))
    metric_column = list(map(metric_ids.get, metrics))
    if None in account_column or None in metric_column:
        return None
    if set(map(type, dates)) != {str}:
        return None
    problems: list[str] = []

    def problem(_field: str, message: str) -> None:
        problems.append(message)

    parsed = {text: _date(text, today, problem) for text in set(dates)}
    if problems:
        return None
    if not set(map(type, values)) <= {int, float, str}:  # bool is a type of its own
        return None
    try:
        numbers = list(map(float, values))
    except ValueError:
        return None
    if not all(map(math.isfinite, numbers)):
        return None
    keys = zip(account_column, metric_column, map(parsed.__getitem__, dates), strict=True)
    by_key = dict(zip(keys, numbers, strict=True))
    if len(by_key) < len(rows):  # a duplicate: the row check names the earlier row
        return None
    return ValidMetricValues(values=by_key)


def _rows_validate(
    objects: list[dict | None],
    numbers: list[int],
    *,
    account_ids: dict[str, int],
    metric_ids: dict[str, int],
    today: date,
) -> tuple[ValidMetricValues, list[RowError]]:
    """Row by row, every problem of every row as a RowError (one per bad field)."""
    errors: list[RowError] = []
    valid = ValidMetricValues()
    first_row: dict[Key, int] = {}
    for number, row in zip(numbers, objects, strict=True):
        if row is None:
            errors.append(RowError(number, "", "Each row must be an object."))
            continue
        before = len(errors)

        def error(field_name: str, message: str, number: int = number) -> None:
            errors.append(RowError(number, field_name, message))

        account = row.get("account")
        if _is_blank(account):
            error("account", "This field is required.")
        elif not isinstance(account, str) or account not in account_ids:
            error("account", unknown_account_message(str(account)))
        metric = row.get("metric")
        if _is_blank(metric):
            error("metric", "This field is required.")
        elif not isinstance(metric, str) or metric not in metric_ids:
            error("metric", f"No metric with key “{metric}”; declare it first.")
        on = _date(row.get("date"), today, error)
        value = _value(row.get("value"), error)
        unknown = sorted(set(row) - FIELDS)
        if unknown:
            error(unknown[0], f"Unknown field “{unknown[0]}”.")
        if len(errors) > before:
            continue
        key = (account_ids[account], metric_ids[metric], on)
        if key in first_row:
            error(
                "date",
                f"Duplicate of row {first_row[key]}: one value per account, metric and date.",
            )
            continue
        first_row[key] = number
        valid.values[key] = value
    return valid, errors


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _value(value: Any, error: Callable[[str, str], None]) -> float | None:
    if _is_blank(value):
        error("value", "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        error("value", "value must be a number.")
        return None
    try:
        number = float(value)
    except ValueError:
        error("value", f"value must be a number, not “{value}”.")
        return None
    if not math.isfinite(number):
        error("value", "value must be a finite number.")
        return None
    return number


def _date(value: Any, today: date, error: Callable[[str, str], None]) -> date | None:
    if _is_blank(value):
        error("date", "This field is required.")
        return None
    text = value.strip() if isinstance(value, str) else None
    try:
        on = date.fromisoformat(text) if text and ISO_DATE.fullmatch(text) else None
    except ValueError:
        on = None
    if on is None:
        error("date", f"date must be a date as YYYY-MM-DD, not “{value}”.")
        return None
    if on < FIRST_DATE:
        error("date", f"date {on.isoformat()} is before 1900-01-01.")
        return None
    if on > today:
        error("date", f"date {on.isoformat()} is in the future (today is {today}).")
        return None
    return on


# --- Values: writing -----------------------------------------------------------------------------


def metric_values_write(*, valid: ValidMetricValues) -> UpsertResult:
    """Upsert the checked values on (account, metric, date); a value already stored as given
    is counted unchanged and not written. Call inside a transaction.

    PostgreSQL: the month partitions are made first, then a binary COPY into a temporary
    table and one upsert, counted from what it returns (_values_copy_upsert). Elsewhere:
    bulk_create."""
    if not valid.values:
        return UpsertResult()
    keys = list(valid.values)
    if connection.vendor == "postgresql":
        account_ids, metric_ids, dates = zip(*keys, strict=True)
        metric_value_partitions_ensure(months=_months(set(dates)))
        created, updated = _values_copy_upsert(
            _values_copy_buffer(account_ids, metric_ids, dates, list(valid.values.values()))
        )
        return UpsertResult(
            created=created, updated=updated, unchanged=len(keys) - created - updated
        )
    existing = _existing_values(keys)
    result = UpsertResult()
    to_write = []
    for key, value in valid.values.items():
        stored = existing.get(key)
        if stored == value:
            result.unchanged += 1
            continue
        if stored is None:
            result.created += 1
        else:
            result.updated += 1
        to_write.append(MetricValue(account_id=key[0], metric_id=key[1], date=key[2], value=value))
    MetricValue.objects.bulk_create(
        to_write,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["account", "metric", "date"],
        update_fields=["value"],
    )
    return result


def _existing_values(keys: list[Key]) -> dict[Key, float]:
    wanted = set(keys)
    account_ids = sorted({key[0] for key in keys})
    metric_ids = sorted({key[1] for key in keys})
    first, last = min(key[2] for key in keys), max(key[2] for key in keys)
    found: dict[Key, float] = {}
    for part in slices(account_ids):
        rows = MetricValue.objects.filter(
            account_id__in=part, metric_id__in=metric_ids, date__range=(first, last)
        ).values_list("account_id", "metric_id", "date", "value")
        for account_id, metric_id, on, value in rows:
            if (account_id, metric_id, on) in wanted:
                found[(account_id, metric_id, on)] = value
    return found


def _values_copy_buffer(
    account_ids: Sequence[int], metric_ids: Sequence[int], dates: Sequence[date], values: list
) -> bytes:
    """The rows (account_id, metric_id, date, value) as the body of a binary COPY."""
    rows = copy_binary.value_rows_empty(len(values))
    rows["account_id"] = account_ids
    rows["metric_id"] = metric_ids
    days = {on: on.toordinal() - copy_binary.EPOCH_ORDINAL for on in set(dates)}
    rows["date"] = list(map(days.__getitem__, dates))
    rows["value"] = values
    return copy_binary.value_rows_body(rows)


def _values_copy_upsert(buffer: bytes) -> tuple[int, int]:
    """COPY the rows (a binary COPY body of account_id, metric_id, date, value) into a
    temporary table and upsert them; returns (created, updated).

    One statement writes: a row stored as given is neither written nor locked (the update's
    WHERE), so a retry writes nothing. What it wrote is told apart by id: a new row takes an
    id from the table's sequence, above the one drawn just before; a row that was already
    there keeps its older id. (A partitioned table cannot return xmax, which would tell an
    insert from an update.) Reading each row's stored value first, to count, cost a third of
    a 10,000-row request. A row that another request inserts meanwhile, then this one
    updates, counts as created: both requests sent it as new."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tmp_metric_values "
            "(account_id bigint, metric_id bigint, date date, value float8) ON COMMIT DROP"
        )
        with connection.wrap_database_errors:  # see scorecards.selectors._copy_frame
            cursor.copy_expert(
                "COPY tmp_metric_values (account_id, metric_id, date, value) FROM STDIN "
                "WITH (FORMAT binary)",
                io.BytesIO(buffer),
            )
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{TABLE}', 'id'))")
        (newest_before,) = cursor.fetchone()
        cursor.execute(
            "WITH written AS ("
            f"  INSERT INTO {TABLE} (account_id, metric_id, date, value)"
            "   SELECT account_id, metric_id, date, value FROM tmp_metric_values"
            "   ON CONFLICT (account_id, metric_id, date) DO UPDATE SET value = excluded.value"
            f"  WHERE {TABLE}.value IS DISTINCT FROM excluded.value"
            "   RETURNING id"
            ") "
            "SELECT count(*) FILTER (WHERE id > %s), count(*) FILTER (WHERE id < %s) "
            "FROM written",
            [newest_before, newest_before],
        )
        created, updated = cursor.fetchone()
        cursor.execute("DROP TABLE tmp_metric_values")
    return int(created), int(updated)


def metric_values_copy(frame: pd.DataFrame) -> None:
    """Bulk load of new rows (account_id, metric_id, date, value) with COPY straight into the
    table, for the demo and benchmarks: no conflict handling, so the rows must be new.
    Elsewhere: bulk_create."""
    if frame.empty:
        return
    if connection.vendor != "postgresql":
        rows = list(
            zip(
                frame["account_id"].astype(int).tolist(),
                frame["metric_id"].astype(int).tolist(),
                [str(on) for on in frame["date"].tolist()],
                frame["value"].astype(float).tolist(),
                strict=True,
            )
        )
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 5_000):
                cursor.executemany(
                    f"INSERT INTO {TABLE} (account_id, metric_id, date, value) "
                    "VALUES (%s, %s, %s, %s)",
                    rows[start : start + 5_000],
                )
        return
    metric_value_partitions_ensure(months=_months(pd.to_datetime(frame["date"]).dt.date.unique()))
    buffer = io.StringIO()
    frame[["account_id", "metric_id", "date", "value"]].to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {TABLE} (account_id, metric_id, date, value) FROM STDIN WITH (FORMAT csv)",
            buffer,
        )


def metric_values_ingest(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, today: date | None = None
) -> UpsertResult:
    """Check every row, then write them all in one transaction, or raise IngestionError
    naming every bad row and write nothing."""
    today = today or timezone.localdate()
    valid, errors = metric_values_validate(rows=rows, user=user, today=today)
    if errors:
        raise IngestionError(errors, total=len(rows))
    with transaction.atomic():
        return metric_values_write(valid=valid)


def metric_values_import_csv(
    path: str | Path,
    *,
    user: AbstractBaseUser | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> CsvImportResult:
    """Import metric values from a CSV file (account, metric, date, value), streamed in
    batches (bounded memory), all or nothing. Duplicates are found within a batch."""
    today = timezone.localdate()

    def validate(*, rows, row_numbers):
        return metric_values_validate(rows=rows, user=user, today=today, row_numbers=row_numbers)

    return csv_import(
        path,
        columns=METRIC_VALUE_COLUMNS,
        validate=validate,
        write=metric_values_write,
        batch_size=batch_size,
        progress=progress,
    )


# --- Partitions (PostgreSQL) ---------------------------------------------------------------------


def _months(dates: Iterable[date]) -> list[date]:
    return sorted({on.replace(day=1) for on in dates})


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def metric_value_partitions() -> list[str]:
    """The names of the values table's partitions, the default one included, sorted."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [TABLE],
        )
        return [name for (name,) in cursor.fetchall()]


def metric_value_partitions_ensure(*, months: Iterable[date]) -> list[str]:
    """Make sure each given month (any date in it) has its partition; returns those created.

    A month's rows that went to the default partition meanwhile move into the new partition
    in the same transaction (PostgreSQL refuses to attach a range the default partition
    holds rows of). Idempotent; a no-op elsewhere than PostgreSQL."""
    if connection.vendor != "postgresql":
        return []
    existing = set(metric_value_partitions())
    created = []
    for month in _months(months):
        name = partition_name(month)
        if name in existing:
            continue
        end = _next_month(month)
        with transaction.atomic(), connection.cursor() as cursor:
            # One creator at a time: two workers making the same month would collide.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
            if name in set(metric_value_partitions()):
                continue
            cursor.execute(
                f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            cursor.execute(
                f"WITH moved AS (DELETE FROM {TABLE}_default WHERE date >= %s AND date < %s "
                f"RETURNING id, date, value, account_id, metric_id) "
                f"INSERT INTO {name} (id, date, value, account_id, metric_id) "
                "SELECT id, date, value, account_id, metric_id FROM moved",
                [month, end],
            )
            cursor.execute(
                f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
                [month, end],
            )
        created.append(name)
    return created


def metric_value_partitions_ahead(*, today: date, months: int = MONTHS_AHEAD) -> list[str]:
    """The beat task's work: this month's partition and the next `months` months'."""
    month = today.replace(day=1)
    wanted = [month]
    for _ in range(months):
        month = _next_month(month)
        wanted.append(month)
    return metric_value_partitions_ensure(months=wanted)


def metric_value_month_drop(*, month: date) -> bool:
    """Drop one month of values: detach its partition, then drop it; the other months are not
    touched (no row-by-row delete, no lock on them). False when there was no such partition."""
    name = partition_name(month.replace(day=1))
    if name not in set(metric_value_partitions()):
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks of rows written in this transaction must run first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")
    return True
