import datetime as dt
from decimal import Decimal

from scorecards.models import ScoreRun
from tests.accounts.factories import AccountFactory
from tests.api.conftest import client_for
from tests.api.test_accounts import give_current_score
from tests.scorecards.factories import BandFactory, ScorecardFactory, ScoreSnapshotFactory


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
            "tiers": [
                {"tier": "healthy", "accounts": 1, "arr": 50000.0},
                {"tier": "watch", "accounts": 0, "arr": 0.0},
                {"tier": "at_risk", "accounts": 1, "arr": 20000.0},
                {"tier": "not_scored", "accounts": 1, "arr": 10000.0},
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


def test_portfolio_for_a_date_reads_that_days_snapshots(csm, csm_client):
    earlier, later = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
    improved = AccountFactory(owner=csm, arr=Decimal("30000"))
    ScoreSnapshotFactory(account=improved, as_of=earlier, overall=Decimal("30.00"), band="Red")
    give_current_score(improved, Decimal("90.00"), "Green")
    unscored_then = AccountFactory(owner=csm, arr=Decimal("5000"))
    give_current_score(unscored_then, Decimal("60.00"), "Yellow")

    body = csm_client.get(f"/api/v1/portfolio/?date={earlier}").json()

    assert body["date"] == "2026-10-01"
    assert body["total"] == {
        "key": None,
        "accounts": 2,
        "arr": 35000.0,
        "average_score": 30.0,
        "arr_at_risk": 30000.0,
        "bands": [
            {"band": "Not scored", "accounts": 1, "arr": 5000.0},
            {"band": "Red", "accounts": 1, "arr": 30000.0},
        ],
        "tiers": [
            {"tier": "healthy", "accounts": 0, "arr": 0.0},
            {"tier": "watch", "accounts": 0, "arr": 0.0},
            {"tier": "at_risk", "accounts": 1, "arr": 30000.0},
            {"tier": "not_scored", "accounts": 1, "arr": 5000.0},
        ],
    }
    assert csm_client.get(f"/api/v1/portfolio/?date={later}").json()["total"]["average_score"] == (
        75.0  # (90 + 60) / 2: give_current_score's snapshots are dated 2026-11-01
    )


def test_portfolio_by_owner_names_unowned_accounts_last(csm, leader):
    AccountFactory(owner=csm, arr=Decimal("1000"))
    AccountFactory(owner=None, arr=Decimal("2000"))
    body = client_for(leader).get("/api/v1/portfolio/?group_by=owner").json()
    assert [(g["key"], g["arr"]) for g in body["groups"]] == [
        (csm.email, 1000.0),
        ("(no owner)", 2000.0),
    ]


def test_portfolio_two_scorecards_add_up_by_tier(csm, csm_client):
    # "Red" is the at-risk band of the default scorecard only; on A–F, F is at risk, D and C
    # watch, A healthy: ARR at risk and the tiers count each account by its own scorecard.
    grades = ScorecardFactory(name="Grades")
    for label, minimum, tier in (("F", 0, "at_risk"), ("C", 40, "watch"), ("A", 80, "healthy")):
        BandFactory(scorecard=grades, label=label, min_score=minimum, tier=tier)
    on_red = AccountFactory(owner=csm, arr=Decimal("100"))
    on_green = AccountFactory(owner=csm, arr=Decimal("200"))
    on_f = AccountFactory(owner=csm, arr=Decimal("400"))
    on_c = AccountFactory(owner=csm, arr=Decimal("800"))
    on_a = AccountFactory(owner=csm, arr=Decimal("1600"))
    give_current_score(on_red, Decimal("20.00"), "Red")
    give_current_score(on_green, Decimal("90.00"), "Green")
    give_current_score(on_f, Decimal("10.00"), "F", scorecard=grades)
    give_current_score(on_c, Decimal("45.00"), "C", scorecard=grades)
    give_current_score(on_a, Decimal("85.00"), "A", scorecard=grades)

    total = csm_client.get("/api/v1/portfolio/").json()["total"]

    assert total["arr_at_risk"] == 500.0  # 100 (Red) + 400 (F)
    assert total["tiers"] == [
        {"tier": "healthy", "accounts": 2, "arr": 1800.0},  # Green 200 + A 1600
        {"tier": "watch", "accounts": 1, "arr": 800.0},  # C
        {"tier": "at_risk", "accounts": 2, "arr": 500.0},
        {"tier": "not_scored", "accounts": 0, "arr": 0.0},
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
