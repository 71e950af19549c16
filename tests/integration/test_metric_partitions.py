"""Metric values on PostgreSQL: partitioned by month, months made ahead, a month dropped by
detaching its partition without touching the others."""

import datetime as dt

import pytest
from django.db import connection

from metrics import services
from metrics.models import Metric, MetricValue
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")


def _row(account, metric, on, value):
    return {"account": account.external_id, "metric": metric.key, "date": on, "value": value}


def test_metric_values_land_in_their_month_partitions():
    account = AccountFactory(external_id="P-1")
    metric = Metric.objects.create(key="logins", name="Logins")
    services.metric_values_ingest(
        rows=[
            _row(account, metric, "2026-09-30", 1),
            _row(account, metric, "2026-10-01", 2),
            _row(account, metric, "2026-11-15", 3),
        ],
        user=None,
        today=dt.date(2026, 11, 20),
    )
    assert services.metric_value_partitions() == [
        "metrics_metricvalue_default",
        "metrics_metricvalue_y2026m09",
        "metrics_metricvalue_y2026m10",
        "metrics_metricvalue_y2026m11",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, date FROM metrics_metricvalue ORDER BY date"
        )
        assert cursor.fetchall() == [
            ("metrics_metricvalue_y2026m09", dt.date(2026, 9, 30)),
            ("metrics_metricvalue_y2026m10", dt.date(2026, 10, 1)),
            ("metrics_metricvalue_y2026m11", dt.date(2026, 11, 15)),
        ]


def test_metric_value_partitions_ahead_are_made_and_rows_leave_the_default():
    account = AccountFactory(external_id="P-2")
    metric = Metric.objects.create(key="logins", name="Logins")
    # A row that arrived before its month's partition existed sits in the default partition.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO metrics_metricvalue (account_id, metric_id, date, value) "
            "VALUES (%s, %s, '2027-01-05', 4)",
            [account.pk, metric.pk],
        )
    created = services.metric_value_partitions_ahead(today=dt.date(2026, 11, 20), months=2)
    assert created == [
        "metrics_metricvalue_y2026m11",
        "metrics_metricvalue_y2026m12",
        "metrics_metricvalue_y2027m01",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, value FROM metrics_metricvalue")
        assert cursor.fetchall() == [("metrics_metricvalue_y2027m01", 4.0)]
    # Again: nothing to do.
    assert services.metric_value_partitions_ahead(today=dt.date(2026, 11, 20), months=2) == []


def test_metric_value_month_drop_leaves_other_months():
    account = AccountFactory(external_id="P-3")
    metric = Metric.objects.create(key="logins", name="Logins")
    services.metric_values_ingest(
        rows=[
            _row(account, metric, "2026-08-31", 1),
            _row(account, metric, "2026-09-01", 2),
            _row(account, metric, "2026-09-30", 3),
            _row(account, metric, "2026-10-01", 4),
        ],
        user=None,
        today=dt.date(2026, 11, 20),
    )
    assert services.metric_value_month_drop(month=dt.date(2026, 9, 1)) is True
    assert "metrics_metricvalue_y2026m09" not in services.metric_value_partitions()
    assert sorted(MetricValue.objects.values_list("date", "value")) == [
        (dt.date(2026, 8, 31), 1.0),
        (dt.date(2026, 10, 1), 4.0),
    ]
    assert services.metric_value_month_drop(month=dt.date(2026, 9, 1)) is False
