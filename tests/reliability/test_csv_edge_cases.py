"""Items 1 and 6 of issue 13, for the three CSV imports: a date outside 1900–2199, text that
is not UTF-8, and a line too long to read are each a clear error naming the line; the file is
read in bounded memory and nothing is written."""

import datetime as dt
import io
import tracemalloc

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.csv_files import CSV_MAX_LINE_BYTES
from accounts.models import Account, RenewalOutcome
from scorecards.models import MeasureValue
from tests.accounts.factories import AccountFactory

HEADERS = {
    "import_accounts": "external_id,name,renewal_date\n",
    "import_measure_values": "account,measure,raw_value,as_of\n",
    "import_renewal_outcomes": "account,renewal_date,outcome,arr_before,arr_after\n",
}
GOOD_LINES = {
    "import_accounts": "NEW-1,New account,2027-01-01\n",
    "import_measure_values": "A-1,adoption,0.5,2026-11-01\n",
    "import_renewal_outcomes": "A-1,2026-10-01,renewed,1000,1000\n",
}
ANCIENT_LINES = {
    "import_accounts": "NEW-2,Old account,0001-01-01\n",
    "import_measure_values": "A-1,adoption,0.5,0001-01-01\n",
    "import_renewal_outcomes": "A-1,0001-01-01,renewed,1000,1000\n",
}
ANCIENT_FIELD = {
    "import_accounts": "renewal_date",
    "import_measure_values": "as_of",
    "import_renewal_outcomes": "renewal_date",
}
COMMANDS = list(HEADERS)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def account(db):
    return AccountFactory(external_id="A-1")


def written() -> tuple[int, int, int]:
    return Account.objects.count(), MeasureValue.objects.count(), RenewalOutcome.objects.count()


def run(command: str, path) -> tuple[str, list[str]]:
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(command, str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    return str(raised.value), err.getvalue().splitlines()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_date_before_1900_is_a_bad_line(command, tmp_path, account):
    path = tmp_path / "in.csv"
    path.write_text(HEADERS[command] + GOOD_LINES[command] + ANCIENT_LINES[command])
    message, lines = run(command, path)
    assert message == "1 of 2 rows is invalid; nothing was written."
    assert lines == [
        f"line 3, {ANCIENT_FIELD[command]}: 0001-01-01 is outside the dates Healthscore "
        "accepts (1900-01-01 to 2199-12-31)."
    ]
    assert written() == (1, 0, 0)


@pytest.mark.parametrize("command", COMMANDS)
def test_text_that_is_not_utf8_names_the_line(command, tmp_path, account):
    path = tmp_path / "in.csv"
    path.write_bytes(
        (HEADERS[command] + GOOD_LINES[command]).encode() + b"A-1,caf\xe9,0.5,2026-11-01\n"
    )
    message, lines = run(command, path)
    problem = "Line 3 is not UTF-8 text (byte 0xe9 at position 8); save the file as UTF-8."
    assert message == f"{problem} Nothing was written."
    assert lines == [f"line 3, line: {problem}"]
    assert written() == (1, 0, 0)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_huge_line_is_refused_in_bounded_memory(command, tmp_path, account):
    path = tmp_path / "in.csv"
    with path.open("wb") as handle:
        handle.write((HEADERS[command] + GOOD_LINES[command]).encode())
        handle.write(b"A-1,")
        for _ in range(20):  # a 20 MiB field
            handle.write(b"x" * (1024 * 1024))
        handle.write(b",0.5,2026-11-01\n")
    tracemalloc.start()
    try:
        message, lines = run(command, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    problem = f"Line 3 is longer than {CSV_MAX_LINE_BYTES:,} bytes."
    assert message == f"{problem} Nothing was written."
    assert lines == [f"line 3, line: {problem}"]
    assert peak < 4 * CSV_MAX_LINE_BYTES  # one line at most, never the 20 MiB
    assert written() == (1, 0, 0)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_field_over_the_csv_limit_names_the_line(command, tmp_path, account):
    path = tmp_path / "in.csv"
    path.write_text(HEADERS[command] + GOOD_LINES[command] + '"' + "y" * 200_000 + '",1,2,3\n')
    message, lines = run(command, path)
    problem = "Line 3 cannot be read as CSV: a field is longer than 131,072 characters."
    assert message == f"{problem} Nothing was written."
    assert lines == [f"line 3, line: {problem}"]
    assert written() == (1, 0, 0)
