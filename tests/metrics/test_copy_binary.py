"""metrics.copy_binary: PostgreSQL's binary COPY rows of metric values, laid out and read."""

import struct
from datetime import date

import numpy as np
import pytest

from metrics import copy_binary


def _body(rows: list[tuple[int, int, date, float]]) -> bytes:
    laid_out = copy_binary.value_rows_empty(len(rows))
    for i, (account_id, metric_id, on, value) in enumerate(rows):
        laid_out[i]["account_id"] = account_id
        laid_out[i]["metric_id"] = metric_id
        laid_out[i]["date"] = on.toordinal() - copy_binary.EPOCH_ORDINAL
        laid_out[i]["value"] = value
    return copy_binary.value_rows_body(laid_out)


def test_value_rows_read_gives_back_what_was_laid_out():
    rows = [(7, 3, date(2026, 11, 20), 41.5), (2**40, 9, date(1999, 12, 31), -0.25)]
    read = copy_binary.value_rows_read(_body(rows))
    assert read["account_id"].tolist() == [7, 2**40]
    assert read["metric_id"].tolist() == [3, 9]
    assert read["value"].tolist() == [41.5, -0.25]
    assert copy_binary.days_to_datetime64(read["date"]).tolist() == [
        np.datetime64("2026-11-20", "ns").astype(int),
        np.datetime64("1999-12-31", "ns").astype(int),
    ]


def test_value_rows_read_of_no_rows_is_empty():
    assert len(copy_binary.value_rows_read(_body([]))) == 0


def test_value_rows_read_refuses_a_null_field():
    body = bytearray(_body([(7, 3, date(2026, 11, 20), 41.5)]))
    value_length_at = len(copy_binary.HEADER) + copy_binary.VALUE_ROW.fields["value_length"][1]
    body[value_length_at : value_length_at + 4] = struct.pack(">i", -1)  # a NULL's length
    with pytest.raises(ValueError, match="NULL"):
        copy_binary.value_rows_read(bytes(body))


def test_value_rows_read_refuses_rows_of_another_width():
    with pytest.raises(ValueError, match="expected"):
        copy_binary.value_rows_read(copy_binary.HEADER + b"\x00\x03" + copy_binary.TRAILER)
