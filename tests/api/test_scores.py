"""The score endpoints, on a hand-built scorecard whose numbers are worked out by hand.

Outcomes (weight 60): m1 (30), m2 (10); Experience (40): m3 (1); every mapping direct.
Bands Red 0 / Yellow 50 / Green 75; the scorecard takes the Enterprise segment."""

import datetime as dt
from decimal import Decimal

import pytest

from scorecards.services import scoring
from tests.accounts.factories import AccountFactory
from tests.scorecards.factories import (
    BandFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
)

DAY_A = dt.date(2026, 11, 1)
DAY_B = dt.date(2026, 11, 20)


@pytest.fixture
def measures(db):
    scorecard = ScorecardFactory(name="Enterprise", priority=1, segments=["Enterprise"])
    for label, low in (("Red", 0), ("Yellow", 50), ("Green", 75)):
        BandFactory(scorecard=scorecard, label=label, min_score=Decimal(low))
    outcomes = MeasureGroupFactory(scorecard=scorecard, name="Outcomes", weight=60, position=0)
    experience = MeasureGroupFactory(scorecard=scorecard, name="Experience", weight=40, position=1)
    return {
        "m1": ScorecardMeasureFactory(group=outcomes, measure__key="m1", weight=30).measure,
        "m2": ScorecardMeasureFactory(group=outcomes, measure__key="m2", weight=10).measure,
        "m3": ScorecardMeasureFactory(group=experience, measure__key="m3", weight=1).measure,
    }


@pytest.fixture
def scored(measures, csm):
    """Scored on day A with m1 80, m2 40, m3 90, and on day B after m1 fell to 60 and m3 to 50."""
    account = AccountFactory(owner=csm, segment="Enterprise", external_id="ENT-1")
    for key, raw in (("m1", 80), ("m2", 40), ("m3", 90)):
        MeasureValueFactory(
            account=account, measure=measures[key], raw_value=raw, score=raw, as_of=DAY_A
        )
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY_A))
    for key, raw in (("m1", 60), ("m3", 50)):
        MeasureValueFactory(
            account=account, measure=measures[key], raw_value=raw, score=raw, as_of=DAY_B
        )
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY_B))
    return account


def test_score_on_a_date_in_the_contract_shape(csm_client, scored):
    response = csm_client.get("/api/v1/accounts/ENT-1/score/?date=2026-11-01")
    assert response.status_code == 200
    # Outcomes = (30·80 + 10·40) / 40 = 70; Experience = 90; overall = (60·70 + 40·90)/100 = 78
    # effective weights: m1 0.6·30/40 = 0.45, m2 0.6·10/40 = 0.15, m3 0.4
    # biggest lever: m1 0.45·20 = 9, m2 0.15·60 = 9 (tie → key order), m3 0.4·10 = 4
    assert response.json() == {
        "account": "ENT-1",
        "date": "2026-11-01",
        "scorecard": "Enterprise",
        "overall": 78.0,
        "computed": 78.0,
        "band": "Green",
        "coverage": 1.0,
        "trend": {"7": None, "30": None, "90": None},
        "groups": [
            {"name": "Outcomes", "weight": 60.0, "score": 70.0},
            {"name": "Experience", "weight": 40.0, "score": 90.0},
        ],
        "measures": [
            {
                "key": "m1",
                "raw_value": 80.0,
                "score": 80.0,
                "as_of": "2026-11-01",
                "stale": False,
                "effective_weight": 0.45,
                "contribution": 36.0,
            },
            {
                "key": "m2",
                "raw_value": 40.0,
                "score": 40.0,
                "as_of": "2026-11-01",
                "stale": False,
                "effective_weight": 0.15,
                "contribution": 6.0,
            },
            {
                "key": "m3",
                "raw_value": 90.0,
                "score": 90.0,
                "as_of": "2026-11-01",
                "stale": False,
                "effective_weight": 0.4,
                "contribution": 36.0,
            },
        ],
        "exceptions": [],
        "biggest_lever": {"measure": "m1", "gain": 9.0},
        "renewal_likelihood": None,  # no renewal outcomes at all
    }


def test_score_without_a_date_is_the_current_one(csm_client, scored):
    body = csm_client.get(f"/api/v1/accounts/{scored.pk}/score/").json()
    # (60·(30·60 + 10·40)/40 + 40·50) / 100 = (60·55 + 2000) / 100 = 53.00 → Yellow
    # trend 7: 53 − 78 (Nov 13 has no snapshot: rescored from day A's values, 78.00)
    assert (body["date"], body["overall"], body["band"]) == ("2026-11-20", 53.0, "Yellow")
    assert body["trend"] == {"7": -25.0, "30": None, "90": None}


def test_score_of_another_csms_account_is_404(api, other_csm, scored):
    from tests.api.conftest import client_for

    response = client_for(other_csm).get("/api/v1/accounts/ENT-1/score/")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found", "fields": {}}


def test_score_on_a_date_without_one_is_404_saying_so(csm_client, scored):
    response = csm_client.get("/api/v1/accounts/ENT-1/score/?date=2026-11-02")
    assert response.status_code == 404
    assert response.json()["message"] == "ENT-1 has no score on 2026-11-02."


def test_score_bad_date_names_the_parameter(csm_client, scored):
    response = csm_client.get("/api/v1/accounts/ENT-1/score/?date=yesterday")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["date"]


def test_score_history_lists_the_range_oldest_first(csm_client, scored):
    body = csm_client.get("/api/v1/accounts/ENT-1/score/history/?from=2026-10-01").json()
    assert body == {
        "account": "ENT-1",
        "from": "2026-10-01",
        "to": "2026-11-20",
        "scores": [
            {
                "date": "2026-11-01",
                "overall": 78.0,
                "band": "Green",
                "coverage": 1.0,
                "scorecard": "Enterprise",
            },
            {
                "date": "2026-11-20",
                "overall": 53.0,
                "band": "Yellow",
                "coverage": 1.0,
                "scorecard": "Enterprise",
            },
        ],
    }


def test_score_changes_add_up_to_the_score_change(csm_client, scored):
    body = csm_client.get("/api/v1/accounts/ENT-1/score/changes/?since=2026-11-05").json()
    # day B contributions: m1 0.45·60 = 27, m2 0.15·40 = 6, m3 0.4·50 = 20 (53 in all)
    # changes: m3 20 − 36 = −16, m1 27 − 36 = −9, m2 0; −25 = 53 − 78
    assert body == {
        "account": "ENT-1",
        "from": "2026-11-05",
        "to": "2026-11-20",
        "score_from": 78.0,
        "score_to": 53.0,
        "change": -25.0,
        "is_rescored": True,  # no snapshot on Nov 5: rescored from day A's values
        "measures": [
            {
                "measure": "m3",
                "exception": None,
                "contribution_from": 36.0,
                "contribution_to": 20.0,
                "change": -16.0,
            },
            {
                "measure": "m1",
                "exception": None,
                "contribution_from": 36.0,
                "contribution_to": 27.0,
                "change": -9.0,
            },
            {
                "measure": "m2",
                "exception": None,
                "contribution_from": 6.0,
                "contribution_to": 6.0,
                "change": 0.0,
            },
        ],
    }
    assert sum(row["change"] for row in body["measures"]) == body["change"]


def test_score_changes_default_to_thirty_days_back(csm_client, scored):
    # 30 days before Nov 20 is Oct 21: no snapshot, and no value yet to rescore it from
    response = csm_client.get("/api/v1/accounts/ENT-1/score/changes/")
    assert response.status_code == 404
    assert response.json()["message"] == "ENT-1 has no score on 2026-10-21."


# --- Rule 12: an override is a line, and the lines add up to the overall shown --------------------
@pytest.fixture
def overridden(measures, csm):
    """As `scored`, with an override: m3 ≤ 50 sets the overall to 30 (it fires on day B)."""
    from scorecards.models import ExceptionRule

    ExceptionRule.objects.create(
        scorecard=measures["m3"].memberships.get().scorecard,
        measure=measures["m3"],
        op="<=",
        value=Decimal("50"),
        action="override",
        score=Decimal("30"),
        reason="Experience collapsed",
    )
    account = AccountFactory(owner=csm, segment="Enterprise", external_id="ENT-2")
    for day, raws in ((DAY_A, {"m1": 80, "m2": 40, "m3": 90}), (DAY_B, {"m1": 60, "m3": 50})):
        for key, raw in raws.items():
            MeasureValueFactory(
                account=account, measure=measures[key], raw_value=raw, score=raw, as_of=day
            )
        scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=day))
    return account


def test_score_of_an_overridden_account_adds_up_to_the_overall(csm_client, overridden):
    body = csm_client.get("/api/v1/accounts/ENT-2/score/").json()
    # computed: contributions m1 27 + m2 6 + m3 20 = 53.00; the override sets 30.00, so its
    # effect is 30 − 53 = −23.00, and 27 + 6 + 20 − 23 = 30.00 = overall.
    contributions = [row["contribution"] for row in body["measures"]]
    assert (body["overall"], body["computed"], body["band"]) == (30.0, 53.0, "Red")
    assert body["exceptions"] == [
        {"reason": "Experience collapsed", "action": "override", "effect": -23.0}
    ]
    assert contributions == [27.0, 6.0, 20.0]
    assert sum(contributions) + body["exceptions"][0]["effect"] == body["overall"]


def test_score_changes_list_the_overrides_line(csm_client, overridden):
    body = csm_client.get("/api/v1/accounts/ENT-2/score/changes/?since=2026-11-01").json()
    # day A 78.00 (no exception), day B 30.00: m3 20 − 36 = −16, m1 27 − 36 = −9,
    # the override 0 → −23 = −23, m2 0; −16 − 9 − 23 = −48 = 30 − 78
    assert (body["score_from"], body["score_to"], body["change"]) == (78.0, 30.0, -48.0)
    assert body["is_rescored"] is False
    assert [(row["measure"], row["exception"], row["change"]) for row in body["measures"]] == [
        (None, "Experience collapsed", -23.0),
        ("m3", None, -16.0),
        ("m1", None, -9.0),
        ("m2", None, 0.0),
    ]
    assert sum(row["change"] for row in body["measures"]) == body["change"]
