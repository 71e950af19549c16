"""CSV files for the imports: streamed in bounded memory (a line is read with a size limit),
decoded strictly (bad UTF-8 names its line), checked against the expected header, validated in
batches and written all or nothing (csv_import's two passes)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from accounts.bulk import (
    BATCH_SIZE,
    MAX_ERRORS_KEPT,
    IngestionError,
    RowError,
    UpsertResult,
    ValidRows,
)

# --- CSV files -----------------------------------------------------------------------------------

Validate = Callable[..., tuple[ValidRows | Any, list[RowError]]]
Write = Callable[..., UpsertResult]


@dataclass
class CsvColumns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


def csv_batches(
    path: str | Path,
    *,
    columns: CsvColumns,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[list[int], list[dict[str, str]]]]:
    """Stream a CSV file as batches of (line numbers, rows as dicts), never holding more
    than one batch. `progress(bytes_read)` is called as the file is read.

    The header must name every required column and nothing unknown, else IngestionError
    (line 1). A line with more fields than the header is reported as a row error on the
    field `line`; fewer fields leave the missing ones blank. A file the reader cannot take
    (text that is not UTF-8, a line longer than CSV_MAX_LINE_BYTES, a field longer than the
    csv module's limit, a NUL byte) stops the reading with an IngestionError naming the line:
    memory stays bounded by one line, and nothing has been written then.
    """
    with open(path, "rb") as handle:
        lines = _decoded_lines(handle, progress)
        reader = csv.reader(lines)
        header = [name.strip() for name in _csv_next(reader, default=[])]
        _check_header(header, columns)
        numbers: list[int] = []
        rows: list[dict[str, str]] = []
        while (fields := _csv_next(reader, default=None)) is not None:
            if not any(value.strip() for value in fields):
                continue  # blank lines, e.g. at the end of the file
            if len(fields) > len(header):
                row: dict[str, Any] = {"__too_many_fields__": len(fields)}
            else:
                row = dict(zip(header, fields, strict=False))
            numbers.append(reader.line_num)
            rows.append(row)
            if len(rows) >= batch_size:
                yield numbers, rows
                numbers, rows = [], []
        if rows:
            yield numbers, rows


# A line longer than this is refused (with its number) rather than read into memory.
CSV_MAX_LINE_BYTES = 1024 * 1024


def _csv_next(reader, *, default):
    """The reader's next record, or `default` at the end; the csv module's own errors (a
    field over its size limit, a NUL byte) become an IngestionError naming the line."""
    try:
        return next(reader, default)
    except csv.Error as problem:
        line = reader.line_num
        reason = str(problem)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than {csv.field_size_limit():,} characters"
        raise _file_error(line, f"Line {line} cannot be read as CSV: {reason}.") from None


def _file_error(line: int, message: str) -> IngestionError:
    return IngestionError(
        [RowError(line, "line", message)], message=f"{message} Nothing was written."
    )


def _decoded_lines(handle: io.BufferedReader, progress: Callable[[int], None] | None):
    """The file's lines as text, each read with a bounded readline: a line longer than
    CSV_MAX_LINE_BYTES, or one that is not UTF-8, stops the import with its line number."""
    number = 0
    while raw := handle.readline(CSV_MAX_LINE_BYTES + 1):
        number += 1
        if progress is not None:
            progress(len(raw))
        if len(raw) > CSV_MAX_LINE_BYTES:
            raise _file_error(number, f"Line {number} is longer than {CSV_MAX_LINE_BYTES:,} bytes.")
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as problem:
            raise _file_error(
                number,
                f"Line {number} is not UTF-8 text (byte 0x{raw[problem.start]:02x} at "
                f"position {problem.start + 1}); save the file as UTF-8.",
            ) from None
        yield line


def _check_header(header: list[str], columns: CsvColumns) -> None:
    errors = [
        RowError(1, name, f"The header has no “{name}” column.")
        for name in columns.required
        if name not in header
    ]
    known = set(columns.required) | set(columns.optional)
    errors += [
        RowError(1, name, f"Unknown column “{name}”; expected {', '.join(sorted(known))}.")
        for name in header
        if name not in known
    ]
    if errors:
        raise IngestionError(errors, message="The file's header is wrong; nothing was written.")


def _split_bad_lines(
    numbers: list[int], rows: list[dict[str, Any]]
) -> tuple[list[int], list[dict[str, Any]], list[RowError]]:
    errors, good_numbers, good_rows = [], [], []
    for number, row in zip(numbers, rows, strict=True):
        if "__too_many_fields__" in row:
            errors.append(
                RowError(number, "line", f"{row['__too_many_fields__']} fields; too many.")
            )
        else:
            good_numbers.append(number)
            good_rows.append(row)
    return good_numbers, good_rows, errors


@dataclass
class CsvImportResult:
    rows: int
    result: UpsertResult


def csv_import(
    path: str | Path,
    *,
    columns: CsvColumns,
    validate: Validate,
    write: Write,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> CsvImportResult:
    """Import a CSV file all or nothing, in two streaming passes.

    Pass 1 validates every batch and writes nothing; any error → IngestionError naming every
    bad line (up to MAX_ERRORS_KEPT). Pass 2 validates each batch again and writes it, all in
    one transaction, so a row that turned bad between the passes (an account deleted
    meanwhile) rolls back everything. `validate(rows=…, row_numbers=…)` returns
    (valid, errors); `write(valid=…)` returns an UpsertResult. `progress(phase, total_bytes)`
    returns a callback taking bytes read.
    """
    size = Path(path).stat().st_size
    errors: list[RowError] = []
    errors_total = 0
    row_count = 0
    tick = progress("Checking", size) if progress else None
    for numbers, rows in csv_batches(path, columns=columns, batch_size=batch_size, progress=tick):
        row_count += len(rows)
        numbers, rows, batch_errors = _split_bad_lines(numbers, rows)
        _, found = validate(rows=rows, row_numbers=numbers)
        batch_errors = sorted(batch_errors + found, key=lambda error: error.row)
        errors_total += len(batch_errors)
        errors.extend(batch_errors[: max(0, MAX_ERRORS_KEPT - len(errors))])
    if errors_total:
        raise IngestionError(errors, total=row_count, errors_total=errors_total)

    result = UpsertResult()
    tick = progress("Writing", size) if progress else None
    with transaction.atomic():
        for numbers, rows in csv_batches(
            path, columns=columns, batch_size=batch_size, progress=tick
        ):
            valid, found = validate(rows=rows, row_numbers=numbers)
            if found:
                raise IngestionError(
                    found,
                    message="The data changed while importing; nothing was written. "
                    "Run the import again.",
                )
            result = result + write(valid=valid)
    return CsvImportResult(rows=row_count, result=result)
