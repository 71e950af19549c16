"""manage.py import_metric_values FILE.csv: the API's checks, line numbers, all or nothing."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from metrics.models import Metric, MetricValue
from tests.accounts.factories import AccountFactory


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def declared(db):
    AccountFactory(external_id="A-1")
    AccountFactory(external_id="A-2")
    Metric.objects.create(key="logins", name="Logins")
    Metric.objects.create(key="licensed_seats", name="Licensed seats")


def run(tmp_path, text, *args):
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_metric_values", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored():
    return sorted(
        MetricValue.objects.values_list("account__external_id", "metric__key", "date", "value")
    )


def test_import_metric_values_writes_rows(tmp_path, declared):
    out, _ = run(
        tmp_path,
        "account,metric,date,value\n"
        "A-1,logins,2026-11-18,7\n"
        "A-1,licensed_seats,2026-11-18,50\n"
        "A-2,logins,2026-11-19,0\n",
    )
    assert out == "3 rows: 3 created, 0 updated, 0 unchanged.\n"
    assert stored() == [
        ("A-1", "licensed_seats", dt.date(2026, 11, 18), 50.0),
        ("A-1", "logins", dt.date(2026, 11, 18), 7.0),
        ("A-2", "logins", dt.date(2026, 11, 19), 0.0),
    ]


def test_import_metric_values_again_replaces(tmp_path, declared):
    run(tmp_path, "account,metric,date,value\nA-1,logins,2026-11-18,7\n")
    out, _ = run(tmp_path, "account,metric,date,value\nA-1,logins,2026-11-18,9\n")
    assert out == "1 rows: 0 created, 1 updated, 0 unchanged.\n"
    assert stored() == [("A-1", "logins", dt.date(2026, 11, 18), 9.0)]


def test_import_metric_values_bad_lines_named_nothing_written(tmp_path, declared):
    with pytest.raises(CommandError, match="5 of 6 rows are invalid; nothing was written."):
        out, err = run(
            tmp_path,
            "account,metric,date,value\n"
            "A-1,logins,2026-11-18,7\n"  # line 2: good
            "A-1,tickets,2026-11-18,1\n"  # line 3: undeclared metric
            "A-1,logins,2026-11-17,many\n"  # line 4: not a number
            "A-1,logins,1899-06-01,1\n"  # line 5: before 1900
            "A-1,logins,2026-11-21,1\n"  # line 6: after today
            "A-1,logins,2026-11-18,8\n",  # line 7: duplicate of line 2
        )
    assert stored() == []


def test_import_metric_values_error_report(tmp_path, declared):
    path = tmp_path / "metrics.csv"
    path.write_text(
        "account,metric,date,value\nA-1,logins,2026-11-18,7\nA-1,tickets,2026-11-18,1\n"
        "A-1,logins,2026-11-18,8\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_metric_values", str(path), "--no-progress", stderr=err)
    assert err.getvalue().splitlines() == [
        "line 3, metric: No metric with key “tickets”; declare it first.",
        "line 4, date: Duplicate of row 2: one value per account, metric and date.",
    ]


def test_import_metric_values_streams_in_batches(tmp_path, declared):
    lines = "".join(f"A-1,logins,2026-11-{day:02d},{day}\n" for day in range(1, 20))
    out, _ = run(tmp_path, "account,metric,date,value\n" + lines, "--batch-size", "4")
    assert out == "19 rows: 19 created, 0 updated, 0 unchanged.\n"
    assert MetricValue.objects.count() == 19
