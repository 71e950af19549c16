"""Scoring rule 13 end to end: a change of method is never shown, alerted or emailed as a change
of customer, and a trend does not depend on the order in which days were scored.

A hand-built scorecard: Outcomes (weight 80) holds m1 (1); Experience (20) holds m3 (1); both
direct. Bands Red 0 / Yellow 50 / Green 75. Values m1 = 100, m3 = 10, dated TEN_DAYS_AGO.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from front.read_models.account import account_score
from front.read_models.dashboard import DashboardFilters, dashboard_accounts
from risk import services as risk_services
from risk.models import Risk, RiskRule
from scorecards.api import scores
from scorecards.documents import scorecard_to_document
from scorecards.models import ScoreSnapshot
from scorecards.services import ingestion, scoring
from tests.accounts.factories import AccountFactory
from tests.scorecards.factories import (
    BandFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def card(db):
    scorecard = ScorecardFactory(name="Enterprise", priority=1, segments=["Enterprise"])
    for label, low in (("Red", 0), ("Yellow", 50), ("Green", 75)):
        BandFactory(scorecard=scorecard, label=label, min_score=Decimal(low))
    outcomes = MeasureGroupFactory(scorecard=scorecard, name="Outcomes", weight=80, position=0)
    experience = MeasureGroupFactory(scorecard=scorecard, name="Experience", weight=20, position=1)
    ScorecardMeasureFactory(group=outcomes, measure__key="m1", weight=1)
    ScorecardMeasureFactory(group=experience, measure__key="m3", weight=1)
    from scorecards.services.versions import scorecard_version_create

    scorecard_version_create(scorecard=scorecard, user=None, note="v1")
    return scorecard


@pytest.fixture
def account(card, csm):
    account = AccountFactory(owner=csm, segment="Enterprise", external_id="ENT-1")
    for key, raw in (("m1", 100), ("m3", 10)):
        MeasureValueFactory(
            account=account,
            measure=card.scorecard_measures.get(measure__key=key).measure,
            raw_value=raw,
            score=raw,
            as_of=days_ago(10),
        )
    return account


def score_day(as_of: dt.date) -> None:
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=as_of))


def reweigh(card, *, outcomes: float, experience: float) -> None:
    """Publish new group weights through the config-as-code path (a new version)."""
    document = scorecard_to_document(card)
    document["groups"][0]["weight"] = outcomes
    document["groups"][1]["weight"] = experience
    ingestion.scorecard_document_save(document=document, user=None, scorecard=card)


def test_a_weight_change_is_no_customer_movement(
    card, account, csm, mailoutbox, django_capture_on_commit_callbacks
):
    RiskRule.objects.exclude(risk_type__in=["turned_red", "score_drop"]).update(is_enabled=False)
    for day in (days_ago(7), days_ago(1)):
        score_day(day)
    # v1: (80·100 + 20·10) / 100 = 82.00, Green.
    assert ScoreSnapshot.objects.get(account=account, as_of=days_ago(1)).band == "Green"

    reweigh(card, outcomes=20, experience=80)
    score_day(TODAY)
    # v2, the same values: (20·100 + 80·10) / 100 = 28.00, Red.
    today = ScoreSnapshot.objects.get(account=account, as_of=TODAY)
    assert (today.overall, today.band, today.scorecard_version) == (Decimal("28.00"), "Red", 2)
    # D − 7 was scored with v1 (82.00); rescored with v2 from the same values it is 28.00:
    # trend 28 − 28 = 0.00. Nothing 30 or 90 days back (no value then).
    assert (today.trend_7, today.trend_30, today.trend_90) == (Decimal("0.00"), None, None)
    # Yesterday was Green under v1 and is Red under v2: the day before, like for like, is Red.
    assert today.previous_band == "Red"

    with django_capture_on_commit_callbacks(execute=True):
        risk_services.risks_evaluate(as_of=TODAY)
    assert list(Risk.objects.values_list("risk_type", flat=True)) == []
    assert mailoutbox == []

    changes = scores.score_changes_document(account=account, since=days_ago(7), as_of=None)
    assert (changes["score_from"], changes["score_to"], changes["change"]) == (28.0, 28.0, 0.0)
    assert [row["change"] for row in changes["measures"]] == [0.0, 0.0]
    page = account_score(account=account, today=TODAY)
    assert [(window.days, window.delta, window.changes) for window in page.changes[:1]] == [
        (7, 0.0, [])
    ]
    # The history chart marks where the method changed.
    assert page.history["boundaries"] == [{"date": TODAY.isoformat(), "label": "Enterprise v2"}]
    moved = dashboard_accounts(
        accounts=account.__class__.objects.all(),
        filters=DashboardFilters(moved=True),
        today=TODAY,
    )
    assert list(moved) == []


def test_a_customer_change_after_a_publish_still_shows(card, account, csm):
    score_day(days_ago(7))
    reweigh(card, outcomes=20, experience=80)
    m3 = card.scorecard_measures.get(measure__key="m3").measure
    MeasureValueFactory(account=account, measure=m3, raw_value=60, score=60, as_of=days_ago(2))
    score_day(TODAY)
    today = ScoreSnapshot.objects.get(account=account, as_of=TODAY)
    # v2 today: (20·100 + 80·60) / 100 = 68.00; D − 7 under v2: 28.00 → +40.00, all of it m3
    # (0.8·60 − 0.8·10 = 48 − 8 = +40).
    assert (today.overall, today.trend_7) == (Decimal("68.00"), Decimal("40.00"))
    changes = scores.score_changes_document(account=account, since=days_ago(7), as_of=None)
    assert [(row["measure"], row["change"]) for row in changes["measures"]] == [
        ("m3", 40.0),
        ("m1", 0.0),
    ]
    assert changes["is_rescored"] is True


def test_trend_is_the_same_whatever_order_the_days_were_scored(card, account, csm):
    m1 = card.scorecard_measures.get(measure__key="m1").measure
    MeasureValueFactory(account=account, measure=m1, raw_value=50, score=50, as_of=days_ago(3))
    # Today first (D − 7 not scored yet: rescored in memory), then D − 7.
    score_day(TODAY)
    before = ScoreSnapshot.objects.get(account=account, as_of=TODAY).trend_7
    score_day(days_ago(7))
    # Then today again, now that D − 7 has its own snapshot.
    score_day(TODAY)
    after = ScoreSnapshot.objects.get(account=account, as_of=TODAY).trend_7
    # today (80·50 + 20·10) / 100 = 42.00; D − 7 (80·100 + 20·10) / 100 = 82.00 → −40.00
    assert (before, after) == (Decimal("-40.00"), Decimal("-40.00"))


def test_score_api_answers_for_the_rescored_account(card, account, csm):
    score_day(TODAY)
    client = Client()
    client.force_login(csm)
    body = client.get("/api/v1/accounts/ENT-1/score/").json()
    assert (body["overall"], body["computed"], body["exceptions"]) == (82.0, 82.0, [])


def test_the_run_keeps_the_earlier_days_it_rescored_with_their_lines(card, account, csm):
    score_day(days_ago(7))
    reweigh(card, outcomes=20, experience=80)
    score_day(TODAY)
    today = ScoreSnapshot.objects.get(account=account, as_of=TODAY)
    # D − 7 under v2: m1 20·100 / 100 = 20.00, m3 80·10 / 100 = 8.00, overall 28.00. D − 30
    # and D − 90 were rescored too, with no value then: no score, no lines.
    assert today.earlier_scores == {
        "7": {"on": days_ago(7).isoformat(), "overall": 28.0, "lines": {"m1": 20.0, "m3": 8.0}},
        "30": {"on": days_ago(30).isoformat(), "overall": None, "lines": {}},
        "90": {"on": days_ago(90).isoformat(), "overall": None, "lines": {}},
    }


def test_a_steady_night_keeps_nothing(card, account, csm):
    for day in (days_ago(97), days_ago(37), days_ago(14), days_ago(7)):
        score_day(day)
    # Every window's earlier day has a snapshot of the same version: nothing was rescored.
    assert ScoreSnapshot.objects.get(account=account, as_of=days_ago(7)).earlier_scores == {}


def test_what_changed_explains_the_trend_the_run_computed(card, account, csm):
    """The page and the API read the rescore the run kept, not a new one: a value for the
    earlier day that arrives after the run does not change the comparison with that run's
    snapshot (as it does not change the trend the run wrote)."""
    score_day(days_ago(7))
    reweigh(card, outcomes=20, experience=80)
    score_day(TODAY)
    m1 = card.scorecard_measures.get(measure__key="m1").measure
    MeasureValueFactory(account=account, measure=m1, raw_value=0, score=0, as_of=days_ago(8))
    # Rescored now, D − 7 would be (20·0 + 80·10) / 100 = 8.00; kept, it is 28.00 and the
    # change 28.00 − 28.00 = 0.00, as trend_7 says.
    today = ScoreSnapshot.objects.get(account=account, as_of=TODAY)
    assert today.trend_7 == Decimal("0.00")
    changes = scores.score_changes_document(account=account, since=days_ago(7), as_of=None)
    assert (changes["score_from"], changes["change"], changes["is_rescored"]) == (28.0, 0.0, True)
    page = account_score(account=account, today=TODAY)
    seven = page.changes[0]
    assert (seven.days, seven.overall_a, seven.delta, seven.is_rescored) == (7, 28.0, 0.0, True)
    # A day the run did not keep (D − 8) is rescored now, from today's history: 8.00.
    since_eight = scores.score_changes_document(account=account, since=days_ago(8), as_of=None)
    assert (since_eight["score_from"], since_eight["change"]) == (8.0, 20.0)


def test_a_kept_rescore_of_a_replaced_version_is_not_used(card, account, csm):
    score_day(days_ago(7))
    reweigh(card, outcomes=20, experience=80)
    score_day(TODAY)
    reweigh(card, outcomes=50, experience=50)
    # Today's snapshot (v2) awaits the rescore that follows v3: no like-for-like comparison.
    page = account_score(account=account, today=TODAY)
    assert page.changes[0].is_pending_rescore is True
    with pytest.raises(scores.NotScored):
        scores.score_changes_document(account=account, since=days_ago(7), as_of=None)
