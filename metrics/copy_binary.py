"""PostgreSQL's binary COPY format for metric value rows (account_id bigint, metric_id bigint,
date, value float8), both ways: laid out and read with NumPy, a millisecond for 10,000 rows
where formatting or parsing them as text took tens.

The format (PostgreSQL manual, COPY, "Binary Format"): a signature, 32-bit flags and
header-extension length; then per row a 16-bit field count and, per field, its 32-bit length
and its value in network byte order (bigint 8 bytes, date 4 bytes counting days from
2000-01-01, float8 8 bytes); a field count of -1 ends the data. Every field here is NOT NULL,
so every row has the same width."""

import struct
from datetime import date

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
VALUE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("account_id_length", ">i4"),
        ("account_id", ">i8"),
        ("metric_id_length", ">i4"),
        ("metric_id", ">i8"),
        ("date_length", ">i4"),
        ("date", ">i4"),
        ("value_length", ">i4"),
        ("value", ">f8"),
    ]
)
POSTGRES_EPOCH = date(2000, 1, 1)
EPOCH_ORDINAL = POSTGRES_EPOCH.toordinal()
_EPOCH_DAY = np.datetime64(POSTGRES_EPOCH, "D")
_LENGTHS = {"account_id_length": 8, "metric_id_length": 8, "date_length": 4, "value_length": 8}


def value_rows_empty(count: int) -> np.ndarray:
    """`count` rows to fill, their field counts and lengths set."""
    rows = np.empty(count, dtype=VALUE_ROW)
    rows["fields"] = 4
    for name, length in _LENGTHS.items():
        rows[name] = length
    return rows


def value_rows_body(rows: np.ndarray) -> bytes:
    return HEADER + rows.tobytes() + TRAILER


def value_rows_read(body: bytes) -> np.ndarray:
    """The rows of a binary COPY of (account_id, metric_id, date, value), as VALUE_ROW."""
    if body[: len(HEADER)] != HEADER:
        raise ValueError("Not a binary COPY without header extension.")
    count, rest = divmod(len(body) - len(HEADER) - len(TRAILER), VALUE_ROW.itemsize)
    if body[-len(TRAILER) :] != TRAILER or rest:
        raise ValueError("A binary COPY of (bigint, bigint, date, float8) rows was expected.")
    rows = np.frombuffer(body, dtype=VALUE_ROW, offset=len(HEADER), count=count)
    if len(rows) and (
        (rows["fields"] != 4).any()
        or any((rows[name] != length).any() for name, length in _LENGTHS.items())
    ):
        raise ValueError("A row of the binary COPY has a NULL or a field of another type.")
    return rows


def days_to_datetime64(days: np.ndarray) -> np.ndarray:
    """PostgreSQL's binary dates (days from 2000-01-01) as datetime64[ns]."""
    return (_EPOCH_DAY + days.astype("int64")).astype("datetime64[ns]")
