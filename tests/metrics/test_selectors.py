"""metrics.selectors.metric_values_frame: what a derivation reads."""

import datetime as dt

import pandas as pd
import pytest
from django.db import connection

from metrics.models import Metric
from metrics.selectors import metric_values_frame
from metrics.services import metric_values_ingest
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def test_metric_values_frame_leaves_out_the_values_of_a_deleted_account():
    acme, gone = AccountFactory(external_id="ACME"), AccountFactory(external_id="GONE")
    Metric.objects.create(key="logins", name="Logins")
    metric_values_ingest(
        rows=[
            {"account": "ACME", "metric": "logins", "date": "2026-11-19", "value": 1},
            {"account": "GONE", "metric": "logins", "date": "2026-11-19", "value": 2},
        ],
        user=None,
        today=TODAY,
    )
    # As a deletion racing a push of its values can leave it: the values keep no foreign key.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_account WHERE id = %s", [gone.pk])
    frame = metric_values_frame(
        first_id=min(acme.pk, gone.pk),
        last_id=max(acme.pk, gone.pk),
        metrics=["logins"],
        first_date=dt.date(2026, 11, 1),
        as_of=TODAY,
    )
    assert frame.to_dict("records") == [
        {"account_id": acme.pk, "metric": "logins", "on": pd.Timestamp("2026-11-19"), "value": 1.0}
    ]


def test_metric_values_frame_reads_the_window_and_the_latest_value_before_it():
    """The window's rows, edges included, and for a summed metric the latest value before
    the window (here from 1999, before PostgreSQL's date epoch), nothing else."""
    acme = AccountFactory(external_id="ACME")
    Metric.objects.create(key="logins", name="Logins")
    Metric.objects.create(key="seats", name="Seats")
    rows = [
        ("logins", "1999-12-31", 2.5),  # the latest before the window
        ("logins", "1999-06-01", 9),  # older: not read
        ("logins", "2026-11-01", 4),  # first day of the window
        ("logins", "2026-11-20", 7.25),  # as_of
        ("seats", "2026-10-31", 50),  # the day before the window, not summed: not read
        ("seats", "2026-11-05", 55),
    ]
    metric_values_ingest(
        rows=[
            {"account": "ACME", "metric": metric, "date": on, "value": value}
            for metric, on, value in rows
        ],
        user=None,
        today=TODAY,
    )
    frame = metric_values_frame(
        first_id=acme.pk,
        last_id=acme.pk,
        metrics=["logins", "seats"],
        first_date=dt.date(2026, 11, 1),
        as_of=TODAY,
        earlier_metrics=["logins"],
    )
    read = sorted((r["metric"], r["on"], r["value"]) for r in frame.to_dict("records"))
    assert read == [
        ("logins", pd.Timestamp("1999-12-31"), 2.5),
        ("logins", pd.Timestamp("2026-11-01"), 4.0),
        ("logins", pd.Timestamp("2026-11-20"), 7.25),
        ("seats", pd.Timestamp("2026-11-05"), 55.0),
    ]
    assert str(frame["on"].dtype) == "datetime64[ns]"
    assert set(frame["account_id"]) == {acme.pk}
