import datetime as dt
from decimal import Decimal

from scorecards.models import ScoreRun
from tests.accounts.factories import AccountFactory
from tests.api.conftest import client_for
from tests.api.test_accounts import give_current_score


def portfolio(csm, others_account):
    green = AccountFactory(owner=csm, arr=Decimal("50000"), segment="Enterprise")
    red = AccountFactory(owner=csm, arr=Decimal("20000"))
    AccountFactory(owner=csm, arr=Decimal("10000"))  # not scored
    give_current_score(green, Decimal("80.00"), "Green")
    give_current_score(red, Decimal("40.00"), "Red")
    give_current_score(others_account, Decimal("10.00"), "Red")


def test_portfolio_rolls_up_a_csms_own_book(csm, csm_client, others_account):
    portfolio(csm, others_account)
    body = csm_client.get("/api/v1/portfolio/").json()
    # average over the scored: (80 + 40) / 2; at risk: the Red account (the lowest band)
    assert body == {
        "date": None,
        "group_by": None,
        "total": {
            "key": None,
            "accounts": 3,
            "arr": 80000.0,
            "average_score": 60.0,
            "arr_at_risk": 20000.0,
            "bands": [
                {"band": "Green", "accounts": 1, "arr": 50000.0},
                {"band": "Not scored", "accounts": 1, "arr": 10000.0},
                {"band": "Red", "accounts": 1, "arr": 20000.0},
            ],
        },
        "groups": [],
    }


def test_portfolio_groups_by_segment(csm, leader, others_account):
    portfolio(csm, others_account)
    body = client_for(leader).get("/api/v1/portfolio/?group_by=segment").json()
    assert [(g["key"], g["accounts"], g["arr"], g["arr_at_risk"]) for g in body["groups"]] == [
        ("Enterprise", 1, 50000.0, 0.0),
        ("Mid-Market", 3, 80000.0, 70000.0),
    ]


def test_portfolio_unknown_grouping_names_the_parameter(csm_client):
    response = csm_client.get("/api/v1/portfolio/?group_by=planet")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["group_by"]


def test_recompute_start_and_progress(ops, account, django_capture_on_commit_callbacks):
    client = client_for(ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/recompute/", {"date": "2026-11-01"}, format="json")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["as_of"]) == ("pending", "2026-11-01")
    progress = client.get(f"/api/v1/recompute/{response.json()['id']}/").json()
    assert (progress["status"], progress["accounts_total"], progress["chunks_done"]) == (
        "finished",
        1,
        1,
    )


def test_recompute_is_for_cs_ops(csm_client):
    response = csm_client.post("/api/v1/recompute/", {}, format="json")
    assert response.status_code == 403
    assert ScoreRun.objects.count() == 0


def test_renewal_outcomes_bulk_and_scoped_list(
    integration_client, csm_client, account, others_account
):
    rows = [
        {
            "account": account.external_id,
            "renewal_date": "2026-06-30",
            "outcome": "renewed",
            "arr_before": 50000,
            "arr_after": 55000,
        },
        {
            "account": "OTHER-1",
            "renewal_date": "2026-06-30",
            "outcome": "churned",
            "arr_before": 10000,
            "arr_after": 0,
        },
    ]
    response = integration_client.post("/api/v1/renewal-outcomes/", rows, format="json")
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    results = csm_client.get("/api/v1/renewal-outcomes/").json()["results"]
    assert [(r["account"], r["outcome"], r["arr_after"]) for r in results] == [
        (account.external_id, "renewed", 55000.0)
    ]
    assert dt.date.fromisoformat(results[0]["renewal_date"]) == dt.date(2026, 6, 30)
