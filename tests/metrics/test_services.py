"""metrics.services: metric value rows checked all at once (and one by one only to word the
errors of bad rows), then written with one upsert that tells created, updated and unchanged."""

import datetime as dt

import pytest
from django.db.models import ProtectedError

from accounts import roles
from accounts.bulk import RowError, UpsertResult
from accounts.models import Account
from metrics import services
from metrics.models import Metric, MetricValue
from tests.accounts.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def declared(csm):
    """Two of the CSM's accounts, another CSM's account and two metrics; {name: id}."""
    other = UserFactory(username="other-csm", role=roles.CSM)
    ids = {
        "ACME": AccountFactory(external_id="ACME", owner=csm).pk,
        "GLOBEX": AccountFactory(external_id="GLOBEX", owner=csm).pk,
        "OTHER-1": AccountFactory(external_id="OTHER-1", owner=other).pk,
    }
    for key in ("logins", "licensed_seats"):
        ids[key] = Metric.objects.create(key=key, name=key).pk
    return ids


def many_rows(count: int = 10_000) -> list[dict]:
    """`count` valid rows: 2 accounts × 2 metrics × count / 4 days before TODAY."""
    rows = []
    for day in range(count // 4):
        on = (TODAY - dt.timedelta(days=1 + day)).isoformat()
        for account in ("ACME", "GLOBEX"):
            for metric in ("logins", "licensed_seats"):
                rows.append({"account": account, "metric": metric, "date": on, "value": day % 7})
    return rows


def validate(rows, csm):
    return services.metric_values_validate(rows=rows, user=csm, today=TODAY)


def test_metric_values_validate_ten_thousand_valid_rows(csm, declared):
    rows = many_rows()
    valid, errors = validate(rows, csm)
    assert errors == []
    assert len(valid.values) == 10_000
    assert valid.values[(declared["GLOBEX"], declared["logins"], dt.date(2026, 11, 19))] == 0.0
    assert valid.values[(declared["ACME"], declared["licensed_seats"], dt.date(2026, 11, 9))] == 3.0


BAD_ROWS = {
    "unknown account": (
        {"account": "NOPE"},
        "account",
        "No account with external_id “NOPE” that you can see.",
    ),
    # The same words as an unknown one: a bulk write does not reveal other CSMs' accounts.
    "another CSM's account": (
        {"account": "OTHER-1"},
        "account",
        "No account with external_id “OTHER-1” that you can see.",
    ),
    "blank account": ({"account": " "}, "account", "This field is required."),
    "account not text": (
        {"account": 42},
        "account",
        "No account with external_id “42” that you can see.",
    ),
    "account a list": (
        {"account": ["ACME"]},
        "account",
        "No account with external_id “['ACME']” that you can see.",
    ),
    "undeclared metric": (
        {"metric": "page_views"},
        "metric",
        "No metric with key “page_views”; declare it first.",
    ),
    "future date": (
        {"date": "2026-11-21"},
        "date",
        "date 2026-11-21 is in the future (today is 2026-11-20).",
    ),
    "date before 1900": ({"date": "1899-12-31"}, "date", "date 1899-12-31 is before 1900-01-01."),
    "date not ISO": (
        {"date": "19/11/2026"},
        "date",
        "date must be a date as YYYY-MM-DD, not “19/11/2026”.",
    ),
    "no such day": (
        {"date": "2026-02-30"},
        "date",
        "date must be a date as YYYY-MM-DD, not “2026-02-30”.",
    ),
    "date a number": (
        {"date": 20261119},
        "date",
        "date must be a date as YYYY-MM-DD, not “20261119”.",
    ),
    "value not a number": ({"value": "twelve"}, "value", "value must be a number, not “twelve”."),
    "value NaN": ({"value": "nan"}, "value", "value must be a finite number."),
    "value infinite": ({"value": "-inf"}, "value", "value must be a finite number."),
    "value true": ({"value": True}, "value", "value must be a number."),
    "value missing": ({"value": None}, "value", "This field is required."),
    "value a list": ({"value": [1]}, "value", "value must be a number."),
    "unknown field": ({"comment": "hi"}, "comment", "Unknown field “comment”."),
}


@pytest.mark.parametrize("overrides, field, message", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_metric_values_validate_one_bad_row_among_ten_thousand(
    csm, declared, overrides, field, message
):
    rows = many_rows()
    rows[5_000] = {**rows[5_000], **overrides}
    valid, errors = validate(rows, csm)
    assert errors == [RowError(5_000, field, message)]
    assert len(valid.values) == 9_999


def test_metric_values_validate_a_missing_field_among_ten_thousand(csm, declared):
    rows = many_rows()
    del rows[5_000]["date"]
    _, errors = validate(rows, csm)
    assert errors == [RowError(5_000, "date", "This field is required.")]


def test_metric_values_validate_a_duplicate_among_ten_thousand_names_the_first(csm, declared):
    rows = many_rows()
    rows[5_000] = {**rows[1_234], "value": 99}
    _, errors = validate(rows, csm)
    assert errors == [
        RowError(5_000, "date", "Duplicate of row 1234: one value per account, metric and date.")
    ]


def test_metric_values_validate_a_row_that_is_not_an_object_among_ten_thousand(csm, declared):
    rows = many_rows()
    rows[5_000] = "ACME,logins,2026-11-19,3"
    _, errors = validate(rows, csm)
    assert errors == [RowError(5_000, "", "Each row must be an object.")]


def test_metric_values_validate_csv_text_reads_alike_at_once_and_row_by_row(csm, declared):
    # CSV fields are text, spaces around a date or a number included. The same rows checked
    # all at once (all valid) and one by one (one bad row added) give the same values.
    rows = [
        {"account": "ACME", "metric": "logins", "date": " 2026-11-19 ", "value": " 7 "},
        {"account": "ACME", "metric": "licensed_seats", "date": "2026-11-19", "value": "2.5e1"},
        {"account": "GLOBEX", "metric": "logins", "date": "2026-11-18", "value": "-0.125"},
    ]
    at_once, no_errors = validate(rows, csm)
    one_by_one, errors = validate([*rows, {**rows[0], "value": "x"}], csm)
    acme, globex, logins, seats = (
        declared[k] for k in ("ACME", "GLOBEX", "logins", "licensed_seats")
    )
    assert at_once.values == {
        (acme, logins, dt.date(2026, 11, 19)): 7.0,
        (acme, seats, dt.date(2026, 11, 19)): 25.0,
        (globex, logins, dt.date(2026, 11, 18)): -0.125,
    }
    assert (one_by_one.values, no_errors) == (at_once.values, [])
    assert errors == [RowError(3, "value", "value must be a number, not “x”.")]


def stored():
    return list(
        MetricValue.objects.order_by("date", "metric__key").values_list(
            "account__external_id", "metric__key", "date", "value"
        )
    )


def test_metric_values_ingest_stores_dates_and_values_exactly(declared):
    # Values and dates as PostgreSQL receives them in binary: days before its epoch
    # (2000-01-01) count back, and every float keeps all of its bits.
    rows = [
        {"account": "ACME", "metric": "logins", "date": "1900-01-01", "value": -1.5},
        {"account": "ACME", "metric": "logins", "date": "1999-12-31", "value": 0.1},
        {"account": "ACME", "metric": "logins", "date": "2000-01-01", "value": 1e300},
        {"account": "ACME", "metric": "logins", "date": "2000-01-02", "value": 5e-324},
        {"account": "GLOBEX", "metric": "licensed_seats", "date": "2026-11-20", "value": 2**53},
    ]
    result = services.metric_values_ingest(rows=rows, user=None, today=TODAY)
    assert result == UpsertResult(created=5, updated=0, unchanged=0)
    assert stored() == [
        ("ACME", "logins", dt.date(1900, 1, 1), -1.5),
        ("ACME", "logins", dt.date(1999, 12, 31), 0.1),
        ("ACME", "logins", dt.date(2000, 1, 1), 1e300),
        ("ACME", "logins", dt.date(2000, 1, 2), 5e-324),
        ("GLOBEX", "licensed_seats", dt.date(2026, 11, 20), 9007199254740992.0),
    ]


def test_metric_values_ingest_counts_created_updated_and_unchanged(declared):
    def row(account, value):
        return {"account": account, "metric": "logins", "date": "2026-11-19", "value": value}

    services.metric_values_ingest(rows=[row("ACME", 1), row("GLOBEX", 2)], user=None, today=TODAY)
    result = services.metric_values_ingest(
        rows=[row("ACME", 1), row("GLOBEX", 3), row("OTHER-1", 4)], user=None, today=TODAY
    )
    assert result == UpsertResult(created=1, updated=1, unchanged=1)
    assert stored() == [
        ("ACME", "logins", dt.date(2026, 11, 19), 1.0),
        ("GLOBEX", "logins", dt.date(2026, 11, 19), 3.0),
        ("OTHER-1", "logins", dt.date(2026, 11, 19), 4.0),
    ]


# Metric values keep no foreign keys in the database (metrics.models.MetricValue): Django
# keeps the two rules they enforced.


def test_account_delete_deletes_its_metric_values(declared):
    services.metric_values_ingest(
        rows=[
            {"account": "ACME", "metric": "logins", "date": "2026-11-19", "value": 1},
            {"account": "GLOBEX", "metric": "logins", "date": "2026-11-19", "value": 2},
        ],
        user=None,
        today=TODAY,
    )
    Account.objects.get(external_id="ACME").delete()
    assert stored() == [("GLOBEX", "logins", dt.date(2026, 11, 19), 2.0)]


def test_metric_with_values_cannot_be_deleted(declared):
    row = {"account": "ACME", "metric": "logins", "date": "2026-11-19", "value": 1}
    services.metric_values_ingest(rows=[row], user=None, today=TODAY)
    with pytest.raises(ProtectedError):
        Metric.objects.get(key="logins").delete()
    assert stored() == [("ACME", "logins", dt.date(2026, 11, 19), 1.0)]
