import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from scorecards.models import MeasureValue
from tests.accounts.factories import AccountFactory


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def accounts(db):
    return [AccountFactory(external_id="A-1"), AccountFactory(external_id="A-2")]


def write_csv(tmp_path, text: str):
    path = tmp_path / "values.csv"
    path.write_text(text)
    return path


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_measure_values", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_measure_values_writes_scored_rows(tmp_path, accounts):
    path = write_csv(
        tmp_path,
        "account,measure,raw_value,as_of,source,comment\n"
        "A-1,csm_sentiment,2,2026-11-01,,Tense call\n"
        "A-2,adoption,0.5,2026-11-01,api,\n",
    )
    out, _ = run(path)
    assert out == "2 rows: 2 created, 0 updated, 0 unchanged.\n"
    assert sorted(
        MeasureValue.objects.values_list("measure__key", "score", "source", "comment")
    ) == [
        ("adoption", Decimal("50.00"), "api", ""),
        ("csm_sentiment", Decimal("25.00"), "import", "Tense call"),
    ]


def test_import_measure_values_twice_changes_nothing(tmp_path, accounts):
    path = write_csv(tmp_path, "account,measure,raw_value,as_of\nA-1,csm_sentiment,2,2026-11-01\n")
    run(path)
    out, _ = run(path)
    assert out == "1 rows: 0 created, 0 updated, 1 unchanged.\n"


def test_import_measure_values_bad_lines_are_named_and_nothing_is_written(tmp_path, accounts):
    path = write_csv(
        tmp_path,
        "account,measure,raw_value,as_of\n"
        "A-1,csm_sentiment,2,2026-11-01\n"
        "A-9,csm_sentiment,2,2026-11-01\n"
        "A-1,adoption,,2026-11-01\n"
        "A-2,adoption,0.5,2026-11-01,extra\n",
    )
    with pytest.raises(CommandError) as raised:
        run(path, "--batch-size", "2")
    assert str(raised.value) == "3 of 4 rows are invalid; nothing was written."
    assert MeasureValue.objects.count() == 0


def test_import_measure_values_reports_line_and_field(tmp_path, accounts):
    path = write_csv(
        tmp_path,
        "account,measure,raw_value,as_of\n"
        "A-1,csm_sentiment,2,2026-11-01\n"
        "A-9,csm_sentiment,2,2026-11-01\n"
        "A-1,adoption,,2026-11-01\n"
        "A-2,adoption,0.5,2026-11-01,extra\n",
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_measure_values", str(path), "--no-progress", "--batch-size", "2", stderr=err
        )
    assert err.getvalue().splitlines() == [
        "line 3, account: No account with external_id “A-9” that you can see.",
        "line 4, raw_value: This field is required.",
        "line 5, line: 5 fields; too many.",
    ]


def test_import_measure_values_a_bad_last_batch_keeps_the_first_unwritten(tmp_path, accounts):
    lines = [f"A-1,adoption,0.{day},2026-11-{day:02d}" for day in range(1, 10)]
    lines.append("A-1,adoption,0.5,2026-11-30")  # in the future
    path = write_csv(tmp_path, "account,measure,raw_value,as_of\n" + "\n".join(lines) + "\n")
    with pytest.raises(CommandError):
        run(path, "--batch-size", "3")
    assert MeasureValue.objects.count() == 0


def test_import_measure_values_header_must_name_the_columns(tmp_path, accounts):
    path = write_csv(tmp_path, "account,metric,raw_value,as_of\nA-1,adoption,0.5,2026-11-01\n")
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_measure_values", str(path), "--no-progress", stderr=err)
    assert str(raised.value) == "The file's header is wrong; nothing was written."
    assert err.getvalue().splitlines() == [
        "line 1, measure: The header has no “measure” column.",
        "line 1, metric: Unknown column “metric”; expected account, as_of, comment, measure, "
        "raw_value, source.",
    ]


def test_import_measure_values_as_a_csm_knows_only_their_accounts(tmp_path, csm, accounts):
    path = write_csv(tmp_path, "account,measure,raw_value,as_of\nA-1,adoption,0.5,2026-11-01\n")
    with pytest.raises(CommandError):
        run(path, "--user", csm.username)
    assert MeasureValue.objects.count() == 0
