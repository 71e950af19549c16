import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.filtersets import OPEN_RISK_STATUSES
from accounts.models import Account
from risk.choices import UNRESOLVED_STATUSES
from scorecards.models import CurrentScore
from tests.accounts.factories import AccountFactory
from tests.api.conftest import client_for
from tests.risk.factories import RiskFactory
from tests.scorecards.factories import ScoreSnapshotFactory


def external_ids(response) -> list[str]:
    return [row["external_id"] for row in response.json()["results"]]


def give_current_score(account, overall, band, **snapshot_fields):
    snapshot = ScoreSnapshotFactory(account=account, overall=overall, band=band, **snapshot_fields)
    CurrentScore.objects.create(
        account=account,
        snapshot=snapshot,
        scorecard_id=snapshot.scorecard_id,
        as_of=snapshot.as_of,
        overall=overall,
        band=band,
    )


def test_account_list_shows_a_csm_only_their_accounts(csm_client, account, others_account):
    response = csm_client.get("/api/v1/accounts/")
    assert response.status_code == 200
    assert external_ids(response) == [account.external_id]


def test_account_list_shows_a_leader_every_account(leader, account, others_account):
    response = client_for(leader).get("/api/v1/accounts/")
    assert sorted(external_ids(response)) == sorted([account.external_id, "OTHER-1"])


def test_account_retrieve_by_external_id(csm_client, account):
    response = csm_client.get(f"/api/v1/accounts/{account.external_id}/")
    assert response.status_code == 200
    assert response.json()["id"] == account.pk


def test_account_retrieve_by_id(csm_client, account):
    response = csm_client.get(f"/api/v1/accounts/{account.pk}/")
    assert response.json()["external_id"] == account.external_id


def test_account_numeric_external_id_wins_over_an_equal_id(leader, account):
    numeric = AccountFactory(external_id=str(account.pk), name="Numeric CRM id")
    response = client_for(leader).get(f"/api/v1/accounts/{account.pk}/")
    assert response.json()["id"] == numeric.pk


def test_account_of_another_csm_by_external_id_is_404(csm_client, others_account):
    response = csm_client.get("/api/v1/accounts/OTHER-1/")
    assert response.status_code == 404


def test_account_shape(csm_client, account):
    give_current_score(account, Decimal("72.50"), "Yellow")
    row = csm_client.get(f"/api/v1/accounts/{account.pk}/").json()
    assert row["score"] == {"overall": 72.5, "band": "Yellow", "as_of": "2026-11-01"}
    assert row["arr"] == 50000.0
    assert row["owner_email"] == "csm@example.com"


def test_account_create_by_integration(integration_client, csm):
    response = integration_client.post(
        "/api/v1/accounts/",
        {"external_id": "NEW-1", "name": "New", "arr": "1200.50", "owner_email": "CSM@example.com"},
        format="json",
    )
    assert response.status_code == 201
    account = Account.objects.get(external_id="NEW-1")
    assert (account.arr, account.owner) == (Decimal("1200.50"), csm)


def test_account_create_with_taken_external_id_is_a_409_conflict(integration_client, account):
    response = integration_client.post(
        "/api/v1/accounts/", {"external_id": account.external_id, "name": "Dup"}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "message": "Invalid input. external_id: account with this external id already exists.",
        "code": "conflict",
        "fields": {"external_id": ["account with this external id already exists."]},
    }


def test_account_create_with_a_negative_arr_is_400(integration_client):
    # As the bulk upsert and the CSV import: an ARR is never negative.
    response = integration_client.post(
        "/api/v1/accounts/", {"external_id": "NEG-1", "name": "Negative", "arr": -5}, format="json"
    )
    assert (response.status_code, response.json()["fields"]) == (
        400,
        {"arr": ["Ensure this value is greater than or equal to 0."]},
    )


def test_account_patch_by_external_id_changes_only_given_fields(leader, account):
    response = client_for(leader).patch(
        f"/api/v1/accounts/{account.external_id}/", {"tier": "Platinum"}, format="json"
    )
    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.tier, account.segment) == ("Platinum", "Mid-Market")


def test_account_bulk_upsert_creates_and_updates(integration_client, account):
    rows = [
        {"external_id": account.external_id, "name": "Renamed"},
        {"external_id": "NEW-2", "name": "Brand new", "lifecycle": "adopting"},
    ]
    response = integration_client.post("/api/v1/accounts/bulk/", rows, format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 0}
    account.refresh_from_db()
    assert account.name == "Renamed"
    assert Account.objects.get(external_id="NEW-2").lifecycle == "adopting"


def test_account_bulk_upsert_again_changes_nothing(integration_client):
    rows = [{"external_id": "NEW-3", "name": "Again", "arr": 10}]
    integration_client.post("/api/v1/accounts/bulk/", rows, format="json")
    response = integration_client.post("/api/v1/accounts/bulk/", rows, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1}


def test_account_bulk_upsert_one_bad_row_writes_none(integration_client):
    rows = [
        {"external_id": "OK-1", "name": "Fine"},
        {"external_id": "BAD-1", "name": "Bad", "arr": -5, "lifecycle": "asleep"},
        {"name": "No id"},
    ]
    response = integration_client.post("/api/v1/accounts/bulk/", rows, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "2 of 3 rows are invalid; nothing was written."
    assert body["rows"] == [
        {
            "row": 1,
            "field": "lifecycle",
            "message": "Select a valid choice. asleep is not one of the available choices.",
        },
        {"row": 1, "field": "arr", "message": "Ensure this value is greater than or equal to 0."},
        {"row": 2, "field": "external_id", "message": "This field is required."},
    ]
    assert not Account.objects.filter(external_id="OK-1").exists()


def test_renewal_outcome_naming_an_account_with_a_nul_is_a_bad_row(integration_client):
    # PostgreSQL refuses a NUL in a query: the lookup used to fail with a 500.
    row = {
        "account": "ACME\x00",
        "renewal_date": "2026-06-30",
        "outcome": "renewed",
        "arr_before": 100,
        "arr_after": 100,
    }
    response = integration_client.post("/api/v1/renewal-outcomes/", row, format="json")
    assert (response.status_code, response.json()["rows"]) == (
        400,
        [
            {
                "row": 0,
                "field": "account",
                "message": "No account with external_id “ACME\x00” that you can see.",
            }
        ],
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("segment=Enterprise", ["E-1"]),
        ("band=Red", ["E-1"]),
        ("score_min=60", ["M-1"]),
        ("score_max=60", ["E-1"]),
        ("renewal_before=2026-12-31", ["E-1"]),
        ("has_open_risk=true", ["M-1"]),
        ("has_open_risk=false", ["E-1"]),
        ("q=e-", ["E-1"]),
    ],
)
def test_account_filters(leader, query, expected):
    enterprise = AccountFactory(
        external_id="E-1", segment="Enterprise", renewal_date=dt.date(2026, 12, 1)
    )
    mid = AccountFactory(external_id="M-1")
    give_current_score(enterprise, Decimal("40.00"), "Red")
    give_current_score(mid, Decimal("80.00"), "Green")
    RiskFactory(account=mid)
    response = client_for(leader).get(f"/api/v1/accounts/?{query}")
    assert external_ids(response) == expected


def test_account_open_risk_statuses_agree_with_risk():
    assert tuple(OPEN_RISK_STATUSES) == tuple(str(s) for s in UNRESOLVED_STATUSES)


def test_account_ordering_by_health_pages_through_unscored_accounts(leader):
    for index, overall in enumerate([None, "80.00", "40.00"]):
        account = AccountFactory(external_id=f"H-{index}")
        if overall:
            give_current_score(account, Decimal(overall), "Green")
    client = client_for(leader)
    first = client.get("/api/v1/accounts/?ordering=health&page_size=2").json()
    second = client.get(first["next"]).json()
    assert [r["external_id"] for r in first["results"] + second["results"]] == [
        "H-0",
        "H-2",
        "H-1",
    ]


def test_account_list_queries_do_not_grow_with_the_page(leader):
    client = client_for(leader)
    client.get("/api/v1/accounts/")  # the user's roles are loaded once, on the first request
    for index in range(3):
        give_current_score(AccountFactory(external_id=f"Q-{index}"), Decimal("50.00"), "Yellow")
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/accounts/?page_size=1")
    for index in range(3, 12):
        give_current_score(AccountFactory(external_id=f"Q-{index}"), Decimal("50.00"), "Yellow")
    with CaptureQueriesContext(connection) as large:
        client.get("/api/v1/accounts/?page_size=12")
    assert len(large) == len(small)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("has_open_risk=-1", "has_open_risk", "Give true or false."),
        ("owner=1.5", "owner", "Enter a whole number."),
        ("owner=0", "owner", "Ensure this value is greater than or equal to 1."),
        ("score_min=101", "score_min", "Ensure this value is less than or equal to 100."),
    ],
)
def test_account_filter_value_the_schema_forbids_is_400(leader, query, field, message):
    # django-filter would take has_open_risk=-1 as "no filter": a client's typo must show.
    response = client_for(leader).get(f"/api/v1/accounts/?{query}")
    assert (response.status_code, response.json()["fields"]) == (400, {field: [message]})


@pytest.mark.parametrize("ordering", ["colour", "name,", " name", "name;arr", "-"])
def test_account_ordering_by_a_field_it_does_not_name_is_400(leader, ordering):
    # DRF would drop the term and sort by name: a client's typo must show.
    response = client_for(leader).get("/api/v1/accounts/", {"ordering": ordering})
    assert (response.status_code, response.json()["fields"]) == (
        400,
        {
            "ordering": [
                "Order by name, external_id, arr, renewal, health, id, comma-separated; "
                "a leading - sorts that one in descending order."
            ]
        },
    )


def test_account_ordering_by_two_fields(leader):
    AccountFactory(external_id="B-1", name="Same", arr=Decimal("10"))
    AccountFactory(external_id="A-1", name="Same", arr=Decimal("20"))
    response = client_for(leader).get("/api/v1/accounts/", {"ordering": "name,-arr"})
    assert external_ids(response) == ["A-1", "B-1"]


# --- The list is cached until what it shows changes ----------------------------------------------


def listed(client, query: str = "") -> dict[str, dict]:
    response = client.get(f"/api/v1/accounts/{query}")
    assert response.status_code == 200
    return {row["external_id"]: row for row in response.json()["results"]}


def test_account_list_served_again_from_the_cache_runs_no_account_query(leader, account):
    client = client_for(leader)
    first = listed(client)
    with CaptureQueriesContext(connection) as queries:
        again = listed(client)
    assert again == first
    assert not [q for q in queries.captured_queries if "accounts_account" in q["sql"]]


def test_cached_account_list_shows_an_account_change_next(leader, integration_client, account):
    client = client_for(leader)
    listed(client)
    response = integration_client.post(
        "/api/v1/accounts/bulk/",
        [{"external_id": account.external_id, "name": "Renamed in the CRM"}],
        format="json",
    )
    assert response.status_code == 200
    assert listed(client)[account.external_id]["name"] == "Renamed in the CRM"


def test_cached_account_list_shows_a_new_current_score_next(leader, account):
    client = client_for(leader)
    assert listed(client)[account.external_id]["score"] is None
    give_current_score(account, Decimal("41.00"), "Red")
    assert listed(client)[account.external_id]["score"]["band"] == "Red"


def test_cached_account_list_shows_an_owner_email_change_next(leader, account, csm):
    client = client_for(leader)
    listed(client)
    csm.email = "new-address@example.com"
    csm.save()
    assert listed(client)[account.external_id]["owner_email"] == "new-address@example.com"


def test_cached_account_list_is_kept_apart_per_scope_and_query(
    csm_client, leader, account, others_account
):
    assert set(listed(client_for(leader))) == {account.external_id, others_account.external_id}
    assert set(listed(csm_client)) == {account.external_id}
    assert set(listed(client_for(leader), "?segment=Nothing")) == set()
