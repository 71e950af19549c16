"""Items 1, 7 and 8 of issue 13 through the API: dates outside 1900–2199, bodies nested too
deep or too large, text over its limit, and questionable rows all answer in the API's error
shape `{"message", "code", "fields"}` (bulk writes add "rows"), and write nothing."""

import datetime as dt

import pytest
import time_machine

from accounts.models import Account, RenewalOutcome, Touchpoint
from risk.models import RiskEvent
from scorecards.models import MeasureValue
from tests.risk.factories import RiskFactory

VALUES = "/api/v1/measure-values/"
OUTCOMES = "/api/v1/renewal-outcomes/"
OUT_OF_RANGE = "0001-01-01 is outside the dates Healthscore accepts (1900-01-01 to 2199-12-31)."


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


def value(account, **overrides):
    row = {"account": account.external_id, "measure": "adoption", "raw_value": 0.5}
    return {**row, "as_of": "2026-11-01", **overrides}


def outcome(account, **overrides):
    row = {"account": account.external_id, "renewal_date": "2026-06-30", "outcome": "renewed"}
    return {**row, "arr_before": 1000, "arr_after": 1000, **overrides}


def rows_of(response) -> list[tuple]:
    return [(r["row"], r["field"], r["message"]) for r in response.json()["rows"]]


# --- Item 1: dates ---------------------------------------------------------------------------


def test_measure_value_dated_year_1_is_a_bad_row(csm_client, account):
    response = csm_client.post(
        VALUES, [value(account), value(account, as_of="0001-01-01")], format="json"
    )
    assert response.status_code == 400
    assert rows_of(response) == [(1, "as_of", OUT_OF_RANGE)]
    assert MeasureValue.objects.count() == 0


def test_renewal_outcome_dated_year_1_is_a_bad_row(integration_client, account):
    response = integration_client.post(
        OUTCOMES, [outcome(account, renewal_date="0001-01-01")], format="json"
    )
    assert response.status_code == 400
    assert rows_of(response) == [(0, "renewal_date", OUT_OF_RANGE)]
    assert RenewalOutcome.objects.count() == 0


def test_account_bulk_renewal_date_year_1_is_a_bad_row(integration_client):
    response = integration_client.post(
        "/api/v1/accounts/bulk/",
        [{"external_id": "OLD-1", "name": "Old", "renewal_date": "0001-01-01"}],
        format="json",
    )
    assert response.status_code == 400
    assert rows_of(response) == [(0, "renewal_date", OUT_OF_RANGE)]
    assert Account.objects.filter(external_id="OLD-1").count() == 0


def test_account_renewal_date_year_1_is_a_field_error(integration_client):
    response = integration_client.post(
        "/api/v1/accounts/",
        {"external_id": "OLD-1", "name": "Old", "renewal_date": "0001-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"renewal_date": [OUT_OF_RANGE]}


def test_score_asked_for_year_1_is_a_400(csm_client, account):
    response = csm_client.get(f"/api/v1/accounts/{account.external_id}/score/?date=0001-01-01")
    assert response.status_code == 400
    assert response.json()["fields"] == {"date": [OUT_OF_RANGE]}


# --- Item 7: bodies and text limits ----------------------------------------------------------


def test_json_nested_ten_thousand_deep_is_a_400_in_the_error_shape(csm_client):
    response = csm_client.post(VALUES, "[" * 10_000 + "]" * 10_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "The JSON nests deeper than 32 levels; no request needs that many.",
        "code": "too_deep",
        "fields": {},
    }


def test_json_nested_33_deep_is_refused_and_32_is_read(csm_client, account):
    too_deep = csm_client.post(VALUES, "[" * 33 + "]" * 33, content_type="application/json")
    deep = csm_client.post(VALUES, "[" * 32 + "]" * 32, content_type="application/json")
    assert (too_deep.status_code, too_deep.json()["code"]) == (400, "too_deep")
    assert (deep.status_code, deep.json()["code"]) == (400, "invalid_rows")  # read, then refused


def test_json_one_row_nested_too_deep_among_ten_thousand_flat_rows_is_refused(csm_client, account):
    # A bulk body of flat rows is measured without walking every value; one row whose comment
    # nests 31 lists deep (33 levels with the body's list and the row's object) must still
    # be found.
    rows = [value(account, as_of=f"2026-{1 + n % 10:02d}-01") for n in range(10_000)]
    rows[5_000]["comment"] = _nested(31)
    too_deep = csm_client.post(VALUES, rows, format="json")
    rows[5_000]["comment"] = _nested(30)  # 32 levels: read, then refused as a bad row
    deep = csm_client.post(VALUES, rows[4_999:5_001], format="json")
    assert (too_deep.status_code, too_deep.json()["code"]) == (400, "too_deep")
    assert rows_of(deep) == [(1, "comment", "The comment must be text.")]
    assert MeasureValue.objects.count() == 0


def _nested(levels: int) -> list:
    nested: list = []
    for _ in range(levels - 1):
        nested = [nested]
    return nested


def test_body_over_the_limit_is_a_413_in_the_error_shape(csm_client, account):
    comment = "x" * (17 * 1024 * 1024)  # over the default 16 MiB
    body = f'[{{"account": "{account.external_id}", "comment": "{comment}"}}]'
    response = csm_client.post(VALUES, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "message": f"The request body is {len(body):,} bytes; at most 16,777,216 bytes are "
        "accepted. Send fewer rows per request.",
        "code": "body_too_large",
        "fields": {},
    }
    assert MeasureValue.objects.count() == 0


def test_body_over_a_lowered_limit_is_a_413(csm_client, account, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = csm_client.post(VALUES, [value(account)] * 20, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_comment_over_2000_characters_is_a_bad_row(csm_client, account):
    response = csm_client.post(
        VALUES,
        [
            value(account, comment="a" * 2000),
            value(account, as_of="2026-11-02", comment="b" * 2001),
        ],
        format="json",
    )
    assert response.status_code == 400
    assert rows_of(response) == [
        (1, "comment", "At most 2,000 characters; this comment has 2,001.")
    ]
    assert MeasureValue.objects.count() == 0


def test_touchpoint_summary_over_10000_characters_is_refused(csm_client, account):
    response = csm_client.post(
        "/api/v1/touchpoints/",
        {"account": account.external_id, "occurred_on": "2026-11-01", "summary": "s" * 10_001},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "summary": ["Ensure this field has no more than 10000 characters."]
    }
    assert Touchpoint.objects.count() == 0


def test_risk_note_over_2000_characters_is_refused(csm_client, account):
    risk = RiskFactory(account=account)
    response = csm_client.post(
        f"/api/v1/risks/{risk.pk}/transition/",
        {"status": "resolved", "note": "n" * 2001},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "note": ["Ensure this field has no more than 2000 characters."]
    }
    assert RiskEvent.objects.count() == 0


# --- Item 8: questionable rows ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (9, "csm_sentiment is a whole number from 1 to 5, not 9."),
        (0, "csm_sentiment is a whole number from 1 to 5, not 0."),
        (2.5, "csm_sentiment is a whole number from 1 to 5, not 2.5."),
    ],
)
def test_sentiment_off_its_1_to_5_scale_is_a_bad_row(csm_client, account, raw, message):
    response = csm_client.post(
        VALUES, [value(account, measure="csm_sentiment", raw_value=raw)], format="json"
    )
    assert rows_of(response) == [(0, "raw_value", message)]


def test_nps_off_its_scale_is_a_bad_row_and_on_it_is_stored(csm_client, account):
    refused = csm_client.post(VALUES, [value(account, measure="nps", raw_value=101)], format="json")
    stored = csm_client.post(VALUES, [value(account, measure="nps", raw_value=-100)], format="json")
    assert rows_of(refused) == [
        (0, "raw_value", "nps is a whole number from -100 to 100, not 101.")
    ]
    assert stored.json() == {"created": 1, "updated": 0, "unchanged": 0}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"renewal_date": "2028-01-01"},
            "renewal_date",
            "2028-01-01 is more than 365 days ahead (latest 2027-11-20); record an outcome once "
            "the renewal is decided.",
        ),
        (
            {"outcome": "churned", "arr_after": 1000},
            "arr_after",
            "A churned account's arr_after is 0 (given 1000).",
        ),
        (
            {"outcome": "downgraded", "arr_after": 1000},
            "arr_after",
            "A downgrade's arr_after is more than 0 and less than arr_before (given 1000).",
        ),
        (
            {"outcome": "downgraded", "arr_after": 0},
            "arr_after",
            "A downgrade's arr_after is more than 0 and less than arr_before (given 0).",
        ),
        (
            {"outcome": "expanded", "arr_after": 1000},
            "arr_after",
            "An expansion's arr_after is more than arr_before (given 1000).",
        ),
        (
            {"outcome": "renewed", "arr_after": 0},
            "arr_after",
            "A renewed account's arr_after is more than 0 (given 0).",
        ),
    ],
)
def test_questionable_renewal_outcome_is_a_bad_row(
    integration_client, account, overrides, field, message
):
    response = integration_client.post(OUTCOMES, [outcome(account, **overrides)], format="json")
    assert response.status_code == 400
    assert rows_of(response) == [(0, field, message)]
    assert RenewalOutcome.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"renewal_date": "2027-11-20"},  # signed early, within the year
        {"outcome": "churned", "arr_after": 0},
        {"outcome": "downgraded", "arr_after": 600},
        {"outcome": "expanded", "arr_after": 1500},
        {"outcome": "renewed", "arr_after": 950},
    ],
)
def test_believable_renewal_outcome_is_stored(integration_client, account, overrides):
    response = integration_client.post(OUTCOMES, [outcome(account, **overrides)], format="json")
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
