"""POST /api/v1/metrics/ and /api/v1/metric-values/: declared metrics, all or nothing, every bad
row named, idempotent (a resend replaces), the write:metrics scope."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.authentication import api_key_create
from accounts.models import Account
from metrics.models import Metric, MetricValue
from tests.accounts.factories import AccountFactory

URL = "/api/v1/metric-values/"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def logins(db):
    return Metric.objects.create(key="logins", name="Logins", unit="logins")


@pytest.fixture
def acme(db):
    return AccountFactory(external_id="ACME")


def row(**overrides):
    return {"account": "ACME", "metric": "logins", "date": "2026-11-19", "value": 12, **overrides}


def stored():
    return list(
        MetricValue.objects.order_by("date").values_list(
            "account__external_id", "metric__key", "date", "value"
        )
    )


def test_metric_declare(integration_client):
    response = integration_client.post(
        "/api/v1/metrics/",
        {"key": "active_users", "name": "Active users", "unit": "users"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "id": Metric.objects.get().pk,
        "key": "active_users",
        "name": "Active users",
        "unit": "users",
    }


def test_metric_declare_twice_is_a_409_conflict(integration_client, logins):
    response = integration_client.post(
        "/api/v1/metrics/", {"key": "logins", "name": "Logins again"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert list(response.json()["fields"]) == ["key"]


def test_metric_declare_needs_a_role_that_may(csm_client):
    response = csm_client.post("/api/v1/metrics/", {"key": "x", "name": "X"}, format="json")
    assert response.status_code == 403


def test_metric_values_one_row(integration_client, logins, acme):
    response = integration_client.post(URL, row(), format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert stored() == [("ACME", "logins", dt.date(2026, 11, 19), 12.0)]


def test_metric_values_resend_replaces(integration_client, logins, acme):
    integration_client.post(URL, [row(), row(date="2026-11-18", value=3)], format="json")
    response = integration_client.post(
        URL, [row(value=14), row(date="2026-11-18", value=3)], format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 1}
    assert stored() == [
        ("ACME", "logins", dt.date(2026, 11, 18), 3.0),
        ("ACME", "logins", dt.date(2026, 11, 19), 14.0),
    ]


def test_metric_values_every_bad_row_named_and_nothing_written(integration_client, logins, acme):
    rows = [
        row(),
        row(metric="page_views"),  # undeclared
        row(value="twelve"),  # not a number
        row(date="1899-12-31"),  # before 1900
        row(date="2026-11-21"),  # after today
        row(date="2026-11-19", value=13),  # the same account, metric and date as row 0
        row(account="NOPE"),
        row(value=True),
        row(date="19/11/2026"),
    ]
    response = integration_client.post(URL, rows, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "8 of 9 rows are invalid; nothing was written.",
        "code": "invalid_rows",
        "fields": {},
        "rows": [
            {
                "row": 1,
                "field": "metric",
                "message": "No metric with key “page_views”; declare it first.",
            },
            {"row": 2, "field": "value", "message": "value must be a number, not “twelve”."},
            {"row": 3, "field": "date", "message": "date 1899-12-31 is before 1900-01-01."},
            {
                "row": 4,
                "field": "date",
                "message": "date 2026-11-21 is in the future (today is 2026-11-20).",
            },
            {
                "row": 5,
                "field": "date",
                "message": "Duplicate of row 0: one value per account, metric and date.",
            },
            {
                "row": 6,
                "field": "account",
                "message": "No account with external_id “NOPE” that you can see.",
            },
            {"row": 7, "field": "value", "message": "value must be a number."},
            {
                "row": 8,
                "field": "date",
                "message": "date must be a date as YYYY-MM-DD, not “19/11/2026”.",
            },
        ],
    }
    assert stored() == []


def test_metric_values_over_ten_thousand_rows_refused(integration_client, logins, acme):
    response = integration_client.post(URL, [row()] * 10_001, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "At most 10000 rows per request; this one has 10001."


def test_metric_values_csm_sees_only_own_accounts(csm_client, logins, account, acme):
    response = csm_client.post(URL, row(), format="json")
    # A CSM may not push metric values at all; integrations do.
    assert response.status_code == 403


def test_metric_values_key_with_write_metrics_scope(integration, logins, acme):
    _, key = api_key_create(owner=integration, name="warehouse", scopes=["write:metrics"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.post(URL, row(), format="json").status_code == 201


def test_metric_values_key_without_write_metrics_scope(integration, logins, acme):
    _, key = api_key_create(owner=integration, name="warehouse", scopes=["write:measures"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(URL, row(), format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the write:metrics scope."


def test_metric_values_list(integration_client, logins, acme):
    integration_client.post(URL, row(), format="json")
    response = integration_client.get(URL)
    assert response.json()["results"] == [
        {"account": "ACME", "metric": "logins", "date": "2026-11-19", "value": 12.0}
    ]


@pytest.fixture
def fifty_accounts(db):
    Account.objects.bulk_create(
        [Account(external_id=f"A-{n:02d}", name=f"Account {n}") for n in range(50)]
    )


def ten_thousand_rows():
    """10,000 rows: 50 accounts × 200 days before today, the value 12."""
    return [
        row(account=f"A-{n:02d}", date=(dt.date(2026, 11, 19) - dt.timedelta(days=day)).isoformat())
        for day in range(200)
        for n in range(50)
    ]


def test_metric_values_bad_row_in_the_middle_of_ten_thousand_named(
    integration_client, logins, fifty_accounts
):
    rows = ten_thousand_rows()
    rows[5_000]["account"] = "NOPE"
    response = integration_client.post(URL, rows, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "1 of 10000 rows is invalid; nothing was written.",
        "code": "invalid_rows",
        "fields": {},
        "rows": [
            {
                "row": 5000,
                "field": "account",
                "message": "No account with external_id “NOPE” that you can see.",
            }
        ],
    }
    assert MetricValue.objects.count() == 0


def test_metric_values_ten_thousand_rows_sent_twice_write_once(
    integration_client, logins, fifty_accounts
):
    rows = ten_thousand_rows()
    first = integration_client.post(URL, rows, format="json")
    rows[7]["value"] = 13
    again = integration_client.post(URL, rows, format="json")
    assert (first.status_code, first.json()) == (
        201,
        {"created": 10_000, "updated": 0, "unchanged": 0},
    )
    assert (again.status_code, again.json()) == (
        200,
        {"created": 0, "updated": 1, "unchanged": 9_999},
    )
    assert MetricValue.objects.filter(value=12).count() == 9_999
