"""POST /api/v1/measure-values/: all or nothing, every bad row listed, idempotent, scored with
the measure's mapping. The measures are those of the default scorecard (a data migration)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from accounts.authentication import api_key_create
from scorecards.models import MeasureValue
from tests.api.conftest import client_for

URL = "/api/v1/measure-values/"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


def value(account, **overrides):
    row = {
        "account": account.external_id,
        "measure": "csm_sentiment",
        "raw_value": 2,
        "as_of": "2026-11-01",
        "source": "api",
    }
    return {**row, **overrides}


def stored(account, key="csm_sentiment"):
    return list(
        MeasureValue.objects.filter(account=account, measure__key=key).values_list(
            "raw_value", "score", "as_of", "source"
        )
    )


def test_measure_value_one_object_is_stored_with_its_mapped_score(csm_client, account):
    response = csm_client.post(URL, value(account), format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    # sentiment steps [[1,0],[2,25],…]: raw 2 → 25
    assert stored(account) == [(2.0, Decimal("25.00"), dt.date(2026, 11, 1), "api")]


@pytest.mark.parametrize(
    ("key", "raw", "score"),
    [
        ("adoption", 0.62, Decimal("62.00")),  # linear 0..1: 0.62 × 100
        ("support", 5, Decimal("75.00")),  # linear 0..20, lower is better: 100 − 25
        ("nps", -100, Decimal("0.00")),  # linear −100..100: the bottom
        ("engagement", 0.9, Decimal("100.00")),  # linear 0..0.8, clamped
    ],
)
def test_measure_value_score_follows_the_mapping(csm_client, account, key, raw, score):
    csm_client.post(URL, value(account, measure=key, raw_value=raw), format="json")
    assert stored(account, key)[0][1] == score


def test_measure_value_list_is_written_in_one_go(csm_client, account):
    rows = [value(account, as_of=f"2026-11-0{day}", raw_value=day) for day in (1, 2, 3)]
    response = csm_client.post(URL, rows, format="json")
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0}
    assert MeasureValue.objects.filter(account=account).count() == 3


def test_measure_value_retry_changes_nothing(csm_client, account):
    rows = [value(account), value(account, measure="adoption", raw_value=0.5)]
    csm_client.post(URL, rows, format="json")
    ids = sorted(MeasureValue.objects.values_list("pk", flat=True))
    response = csm_client.post(URL, rows, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert sorted(MeasureValue.objects.values_list("pk", flat=True)) == ids


def test_measure_value_changed_raw_value_updates_the_one_value(csm_client, account):
    csm_client.post(URL, value(account, raw_value=2), format="json")
    response = csm_client.post(URL, value(account, raw_value=4), format="json")
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert stored(account) == [(4.0, Decimal("75.00"), dt.date(2026, 11, 1), "api")]


def test_measure_value_batch_counts_each_row_as_it_finds_it(csm_client, account):
    """One batch: a value sent as stored (unchanged), one with only its comment changed
    (updated, the comment written), one new (created)."""
    first = [value(account, comment="QBR went well"), value(account, as_of="2026-11-02")]
    csm_client.post(URL, first, format="json")
    again = [
        value(account, comment="QBR went well"),
        value(account, as_of="2026-11-02", comment="Champion left"),
        value(account, as_of="2026-11-03"),
    ]
    response = csm_client.post(URL, again, format="json")
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1}
    comments = dict(MeasureValue.objects.filter(account=account).values_list("as_of", "comment"))
    assert comments == {
        dt.date(2026, 11, 1): "QBR went well",
        dt.date(2026, 11, 2): "Champion left",
        dt.date(2026, 11, 3): "",
    }


def test_measure_value_another_source_is_another_value(csm_client, account):
    csm_client.post(URL, value(account, source="api"), format="json")
    csm_client.post(URL, value(account, source="manual"), format="json")
    assert MeasureValue.objects.filter(account=account).count() == 2


def test_measure_value_bad_rows_are_all_listed_and_nothing_is_written(
    csm_client, account, others_account
):
    rows = [
        value(account),
        value(account, raw_value="lots", as_of="2026-13-01"),
        value(others_account),
        value(account, measure="happiness", source="carrier-pigeon"),
        value(account, as_of="2026-11-21"),
        value(account, raw_value=True),
        "not an object",
    ]
    response = csm_client.post(URL, rows, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "6 of 7 rows are invalid; nothing was written.",
        "code": "invalid_rows",
        "fields": {},
        "rows": [
            {"row": 1, "field": "raw_value", "message": "raw_value must be a number, not “lots”."},
            {
                "row": 1,
                "field": "as_of",
                "message": "as_of must be a date as YYYY-MM-DD, not “2026-13-01”.",
            },
            {
                "row": 2,
                "field": "account",
                "message": "No account with external_id “OTHER-1” that you can see.",
            },
            {"row": 3, "field": "measure", "message": "No measure with key “happiness”."},
            {
                "row": 3,
                "field": "source",
                "message": "Unknown source “carrier-pigeon”; use one of api, manual, import, "
                "computed.",
            },
            {
                "row": 4,
                "field": "as_of",
                "message": "as_of 2026-11-21 is in the future (today is 2026-11-20).",
            },
            {"row": 5, "field": "raw_value", "message": "raw_value must be a number."},
            {"row": 6, "field": "", "message": "Each row must be an object."},
        ],
    }
    assert MeasureValue.objects.count() == 0


def test_measure_value_missing_fields_are_named(csm_client, account):
    response = csm_client.post(URL, [{"account": account.external_id}], format="json")
    assert [(r["field"], r["message"]) for r in response.json()["rows"]] == [
        ("measure", "This field is required."),
        ("raw_value", "This field is required."),
        ("as_of", "This field is required."),
    ]


def test_measure_value_more_than_ten_thousand_rows_is_refused(csm_client, account):
    response = csm_client.post(URL, [value(account)] * 10_001, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "At most 10000 rows per request; this one has 10001."


def test_measure_value_leader_may_not_push(leader, account):
    response = client_for(leader).post(URL, value(account), format="json")
    assert response.status_code == 403


def test_measure_value_list_is_scoped(csm_client, account, others_account):
    csm_client.post(URL, value(account), format="json")
    MeasureValue.objects.create(
        account=others_account,
        measure=MeasureValue.objects.get().measure,
        raw_value=1,
        score=0,
        as_of=dt.date(2026, 11, 1),
        source="api",
    )
    results = csm_client.get(URL).json()["results"]
    assert [row["account"] for row in results] == [account.external_id]


def bearer(key: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_measure_value_key_with_write_measures_scope_may_push(integration, account):
    _, key = api_key_create(owner=integration, name="warehouse", scopes=["write:measures"])
    response = bearer(key).post(URL, value(account), format="json")
    assert response.status_code == 201


def test_measure_value_read_only_key_may_not_push(integration, account):
    _, key = api_key_create(owner=integration, name="bi", scopes=["read"])
    response = bearer(key).post(URL, value(account), format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the write:measures scope."
