"""Each risk rule of PRODUCT.md on a hand-built portfolio, firing and not firing at the edges
of its threshold or window (the default RiskRule rows of migration 0002)."""

import datetime as dt

import pytest

from accounts.services import contact_change_role, contact_mark_left
from risk import services
from risk.choices import RiskType
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.risk.conftest import (
    AS_OF,
    open_risks,
    rule_set,
    rules_only,
    sentiment,
    snapshot,
    sponsor,
    touch,
)
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db


def evaluate(as_of: dt.date = AS_OF):
    return services.risks_evaluate(as_of=as_of)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


# --- low_sentiment -------------------------------------------------------------------------------


def test_low_sentiment_fires_at_the_threshold(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25, as_of=AS_OF - days(3))
    evaluate()
    [risk] = open_risks(account)
    assert (risk.risk_type, risk.severity, risk.raised_by) == (
        "low_sentiment",
        "high",
        "rule:low_sentiment",
    )
    assert risk.evidence == {
        "as_of": "2026-11-20",
        "sentiment_score": 25.0,
        "threshold": 25.0,
        "value_as_of": "2026-11-17",
    }


def test_low_sentiment_does_not_fire_above_the_threshold(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 50)
    evaluate()
    assert open_risks(account) == []


def test_low_sentiment_is_critical_at_zero(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 0)
    evaluate()
    assert [risk.severity for risk in open_risks(account)] == ["critical"]


def test_low_sentiment_reads_the_latest_sentiment(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 0, as_of=AS_OF - days(10))
    sentiment(account, 75, as_of=AS_OF - days(1))
    evaluate()
    assert open_risks(account) == []


def test_low_sentiment_ignores_a_stale_sentiment(account):
    # csm_sentiment's max age is 60 days: a value 61 days old counts as missing.
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 0, as_of=AS_OF - days(61))
    evaluate()
    assert open_risks(account) == []


def test_low_sentiment_follows_the_threshold_cs_ops_set(account):
    rules_only(RiskType.LOW_SENTIMENT)
    rule_set(RiskType.LOW_SENTIMENT, threshold=50)
    sentiment(account, 50)
    evaluate()
    assert [risk.evidence["threshold"] for risk in open_risks(account)] == [50.0]


def test_low_sentiment_scores_the_raw_value_with_the_measures_mapping(account):
    # Raw 2 is a score of 25 under the steps mapping, whatever score was stored with it.
    rules_only(RiskType.LOW_SENTIMENT)
    value = sentiment(account, 50)
    value.raw_value = 2
    value.save()
    evaluate()
    assert [risk.evidence["sentiment_score"] for risk in open_risks(account)] == [25.0]


# --- score_drop ----------------------------------------------------------------------------------


def test_score_drop_fires_at_exactly_the_threshold(account):
    # 72.35 − 57.35 is 14.999999999999993 in floating point; the drop is 15.00 points.
    rules_only(RiskType.SCORE_DROP)
    snapshot(account, as_of=AS_OF - days(30), overall="72.35")
    snapshot(account, overall="57.35")
    evaluate()
    [risk] = open_risks(account)
    assert risk.severity == "medium"
    assert risk.evidence == {
        "as_of": "2026-11-20",
        "overall": 57.35,
        "snapshot_as_of": "2026-11-20",
        "earlier_overall": 72.35,
        "earlier_as_of": "2026-10-21",
        "drop": 15.0,
        "threshold": 15.0,
        "window_days": 30,
    }


def test_score_drop_does_not_fire_just_below_the_threshold(account):
    rules_only(RiskType.SCORE_DROP)
    snapshot(account, as_of=AS_OF - days(30), overall="80.00")
    snapshot(account, overall="65.01")  # 14.99 points
    evaluate()
    assert open_risks(account) == []


def test_score_drop_compares_with_the_score_of_exactly_the_window_day(account):
    # Rules 9 and 13: the earlier score is that of as_of − 30 days (here its snapshot), not
    # the nearest other one (35 or 29 days ago).
    rules_only(RiskType.SCORE_DROP)
    snapshot(account, as_of=AS_OF - days(35), overall="99.00")
    snapshot(account, as_of=AS_OF - days(30), overall="90.00")
    snapshot(account, as_of=AS_OF - days(29), overall="60.00")
    snapshot(account, overall="60.00")
    evaluate()
    assert [risk.evidence["earlier_overall"] for risk in open_risks(account)] == [90.0]


def test_score_drop_needs_a_snapshot_old_enough(account):
    rules_only(RiskType.SCORE_DROP)
    snapshot(account, as_of=AS_OF - days(29), overall="90.00")
    snapshot(account, overall="40.00")
    evaluate()
    assert open_risks(account) == []


# --- turned_red ----------------------------------------------------------------------------------


def test_turned_red_fires_when_the_band_became_red(account):
    rules_only(RiskType.TURNED_RED)
    snapshot(account, as_of=AS_OF - days(1), overall="52.00", band="Yellow")
    snapshot(account, overall="48.00", band="Red")
    evaluate()
    [risk] = open_risks(account)
    assert risk.evidence == {
        "as_of": "2026-11-20",
        "band": "Red",
        "snapshot_as_of": "2026-11-20",
        "overall": 48.0,
        "previous_band": "Yellow",
        "previous_as_of": "2026-11-19",
    }


def test_turned_red_does_not_fire_when_the_band_was_already_red(account):
    rules_only(RiskType.TURNED_RED)
    snapshot(account, as_of=AS_OF - days(1), overall="40.00", band="Red")
    snapshot(account, overall="38.00", band="Red")
    evaluate()
    assert open_risks(account) == []


def test_turned_red_does_not_fire_on_a_first_snapshot(account):
    rules_only(RiskType.TURNED_RED)
    snapshot(account, overall="30.00", band="Red")
    evaluate()
    assert open_risks(account) == []


def test_turned_red_stays_open_while_the_band_stays_red(account):
    rules_only(RiskType.TURNED_RED)
    snapshot(account, as_of=AS_OF - days(1), overall="52.00", band="Yellow")
    snapshot(account, overall="48.00", band="Red")
    evaluate()
    snapshot(account, as_of=AS_OF + days(1), overall="47.00", band="Red")
    evaluate(AS_OF + days(1))
    [risk] = open_risks(account)
    assert (risk.condition_cleared_at, risk.evidence["snapshot_as_of"]) == (None, "2026-11-20")


# --- sponsor_left --------------------------------------------------------------------------------


def test_sponsor_left_fires_when_an_executive_sponsor_leaves(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    ceo = sponsor(account, name="Dana Chief")
    change = contact_mark_left(contact=ceo, left_on=AS_OF - days(2), user=csm)
    evaluate()
    [risk] = open_risks(account)
    assert (risk.severity, risk.raised_by) == ("high", "rule:sponsor_left")
    assert risk.evidence == {
        "as_of": "2026-11-20",
        "contact_change_id": change.pk,
        "contact_id": ceo.pk,
        "contact": "Dana Chief",
        "role": "executive_sponsor",
        "move": "left",
        "changed_on": "2026-11-18",
        "moves": 1,
    }


def test_sponsor_left_fires_once_for_a_move(account, csm, leader):
    rules_only(RiskType.SPONSOR_LEFT)
    contact_mark_left(contact=sponsor(account), left_on=AS_OF - days(2), user=csm)
    evaluate()
    [risk] = open_risks(account)
    services.risk_transition(risk=risk, to_status="resolved", user=leader, note="Met the new CFO.")
    evaluate(AS_OF + days(1))
    assert (open_risks(account), account.risks.count()) == ([], 1)


def test_sponsor_left_fires_again_for_a_second_move(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    contact_mark_left(contact=sponsor(account), left_on=AS_OF - days(2), user=csm)
    evaluate()
    second = sponsor(account, role="decision_maker", name="Lee Buyer")
    contact_mark_left(contact=second, left_on=AS_OF, user=csm)
    evaluate()
    [risk] = open_risks(account)
    assert (risk.evidence["contact"], risk.evidence["role"]) == ("Lee Buyer", "decision_maker")


def test_sponsor_left_fires_when_a_sponsor_moves_to_another_role(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    contact_change_role(
        contact=sponsor(account, role="decision_maker"),
        role="champion",
        user=csm,
        changed_on=AS_OF,
    )
    evaluate()
    [risk] = open_risks(account)
    assert (risk.evidence["move"], risk.evidence["role"]) == ("role_changed", "decision_maker")


def test_sponsor_left_does_not_fire_when_someone_becomes_a_sponsor(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    contact_change_role(
        contact=ContactFactory(account=account, role="champion"),
        role="executive_sponsor",
        user=csm,
        changed_on=AS_OF,
    )
    evaluate()
    assert open_risks(account) == []


def test_sponsor_left_does_not_fire_when_a_user_leaves(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    contact_mark_left(contact=ContactFactory(account=account), left_on=AS_OF, user=csm)
    evaluate()
    assert open_risks(account) == []


def test_sponsor_left_fires_for_a_departure_entered_outside_the_service(account):
    # An import or the admin set is_active/left_on directly: the evaluation records the move.
    rules_only(RiskType.SPONSOR_LEFT)
    sponsor(account, is_active=False, left_on=AS_OF - days(5))
    evaluate()
    evaluate(AS_OF + days(1))
    assert [risk.evidence["changed_on"] for risk in account.risks.all()] == ["2026-11-15"]


def test_sponsor_left_ignores_a_move_dated_after_the_day(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    contact_mark_left(contact=sponsor(account), left_on=AS_OF + days(1), user=csm)
    evaluate()
    assert open_risks(account) == []


def test_sponsor_left_never_clears_by_itself(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    rule_set(RiskType.SPONSOR_LEFT, auto_resolve=True)
    contact_mark_left(contact=sponsor(account), left_on=AS_OF, user=csm)
    evaluate()
    evaluate(AS_OF + days(1))
    [risk] = open_risks(account)
    assert (risk.status, risk.condition_cleared_at) == ("open", None)


# --- no_sponsor ----------------------------------------------------------------------------------


def test_no_sponsor_fires_without_an_active_executive_sponsor(account):
    rules_only(RiskType.NO_SPONSOR)
    sponsor(account, role="decision_maker")
    evaluate()
    [risk] = open_risks(account)
    assert (risk.severity, risk.evidence) == (
        "medium",
        {"as_of": "2026-11-20", "active_executive_sponsors": 0},
    )


def test_no_sponsor_does_not_fire_with_an_active_executive_sponsor(account):
    rules_only(RiskType.NO_SPONSOR)
    sponsor(account)
    evaluate()
    assert open_risks(account) == []


def test_no_sponsor_fires_when_the_executive_sponsor_has_left(account):
    rules_only(RiskType.NO_SPONSOR)
    sponsor(account, is_active=False, left_on=AS_OF)
    evaluate()
    assert [risk.risk_type for risk in open_risks(account)] == ["no_sponsor"]


def test_no_sponsor_counts_a_sponsor_who_left_after_the_day(account):
    rules_only(RiskType.NO_SPONSOR)
    sponsor(account, is_active=False, left_on=AS_OF + days(1))
    evaluate()
    assert open_risks(account) == []


# --- sponsor_disengaged --------------------------------------------------------------------------


def test_sponsor_disengaged_does_not_fire_with_a_touchpoint_90_days_ago(account):
    rules_only(RiskType.SPONSOR_DISENGAGED)
    touch(account, [sponsor(account, role="decision_maker")], days_ago=90)
    evaluate()
    assert open_risks(account) == []


def test_sponsor_disengaged_fires_when_the_last_touchpoint_was_91_days_ago(account):
    rules_only(RiskType.SPONSOR_DISENGAGED)
    touch(account, [sponsor(account)], days_ago=91)
    evaluate()
    [risk] = open_risks(account)
    assert risk.evidence == {
        "as_of": "2026-11-20",
        "last_touch_on": "2026-08-21",
        "days_since_touch": 91,
        "window_days": 90,
    }


def test_sponsor_disengaged_ignores_touchpoints_with_other_contacts(account):
    rules_only(RiskType.SPONSOR_DISENGAGED)
    sponsor(account)
    touch(account, [ContactFactory(account=account, role="champion")], days_ago=1)
    evaluate()
    assert [risk.evidence["last_touch_on"] for risk in open_risks(account)] == [None]


def test_sponsor_disengaged_ignores_touchpoints_with_a_sponsor_who_left(account):
    rules_only(RiskType.SPONSOR_DISENGAGED)
    sponsor(account)
    touch(account, [sponsor(account, is_active=False, left_on=AS_OF - days(1))], days_ago=5)
    evaluate()
    assert [risk.risk_type for risk in open_risks(account)] == ["sponsor_disengaged"]


def test_sponsor_disengaged_does_not_fire_without_any_sponsor(account):
    # Nobody to engage: no_sponsor is the risk for that.
    rules_only(RiskType.SPONSOR_DISENGAGED)
    evaluate()
    assert open_risks(account) == []


# --- renewal_at_risk -----------------------------------------------------------------------------


def test_renewal_at_risk_fires_for_a_red_account_renewing_in_90_days(account):
    rules_only(RiskType.RENEWAL_AT_RISK)
    account.renewal_date = AS_OF + days(90)
    account.save()
    snapshot(account, overall="40.00", band="Red")
    evaluate()
    [risk] = open_risks(account)
    assert (risk.severity, risk.evidence) == (
        "critical",
        {
            "as_of": "2026-11-20",
            "renewal_date": "2027-02-18",
            "days_to_renewal": 90,
            "window_days": 90,
            "band": "Red",
        },
    )


def test_renewal_at_risk_does_not_fire_for_a_renewal_in_91_days(account):
    rules_only(RiskType.RENEWAL_AT_RISK)
    account.renewal_date = AS_OF + days(91)
    account.save()
    snapshot(account, overall="40.00", band="Red")
    evaluate()
    assert open_risks(account) == []


def test_renewal_at_risk_does_not_fire_for_a_yellow_account(account):
    rules_only(RiskType.RENEWAL_AT_RISK)
    account.renewal_date = AS_OF + days(10)
    account.save()
    snapshot(account, overall="50.00", band="Yellow")
    evaluate()
    assert open_risks(account) == []


def test_renewal_at_risk_does_not_fire_for_a_past_renewal(account):
    rules_only(RiskType.RENEWAL_AT_RISK)
    account.renewal_date = AS_OF - days(1)
    account.save()
    snapshot(account, overall="40.00", band="Red")
    evaluate()
    assert open_risks(account) == []


# --- single_threaded -----------------------------------------------------------------------------


def test_single_threaded_fires_with_one_contact_touched(account):
    rules_only(RiskType.SINGLE_THREADED)
    champion = ContactFactory(account=account, role="champion")
    touch(account, [champion], days_ago=1)
    touch(account, [champion], days_ago=20)
    evaluate()
    [risk] = open_risks(account)
    assert (risk.severity, risk.evidence) == (
        "low",
        {"as_of": "2026-11-20", "contacts_touched": 1, "threshold": 2.0, "window_days": 90},
    )


def test_single_threaded_does_not_fire_with_two_contacts_touched(account):
    rules_only(RiskType.SINGLE_THREADED)
    touch(account, [ContactFactory(account=account)], days_ago=90)
    touch(account, [ContactFactory(account=account)], days_ago=0)
    evaluate()
    assert open_risks(account) == []


def test_single_threaded_ignores_touchpoints_older_than_the_window(account):
    rules_only(RiskType.SINGLE_THREADED)
    touch(account, [ContactFactory(account=account)], days_ago=91)
    touch(account, [ContactFactory(account=account)], days_ago=0)
    evaluate()
    assert [risk.evidence["contacts_touched"] for risk in open_risks(account)] == [1]


# --- sentiment_divergence ------------------------------------------------------------------------


def test_sentiment_divergence_fires_for_a_75_sentiment_on_a_red_account(account):
    rules_only(RiskType.SENTIMENT_DIVERGENCE)
    sentiment(account, 75)
    snapshot(account, overall="45.00", band="Red")
    evaluate()
    [risk] = open_risks(account)
    assert (risk.severity, risk.evidence) == (
        "low",
        {"as_of": "2026-11-20", "sentiment_score": 75.0, "threshold": 75.0, "band": "Red"},
    )


def test_sentiment_divergence_does_not_fire_for_a_50_sentiment(account):
    rules_only(RiskType.SENTIMENT_DIVERGENCE)
    sentiment(account, 50)
    snapshot(account, overall="45.00", band="Red")
    evaluate()
    assert open_risks(account) == []


def test_sentiment_divergence_does_not_fire_when_the_band_is_not_red(account):
    rules_only(RiskType.SENTIMENT_DIVERGENCE)
    sentiment(account, 100)
    snapshot(account, overall="55.00", band="Yellow")
    evaluate()
    assert open_risks(account) == []


# --- rules as CS Ops set them --------------------------------------------------------------------


def test_disabled_rule_raises_nothing(account):
    rules_only(RiskType.LOW_SENTIMENT)
    rule_set(RiskType.LOW_SENTIMENT, is_enabled=False)
    sentiment(account, 0)
    evaluate()
    assert open_risks(account) == []


def test_disabled_rule_leaves_its_open_risks_alone(account):
    rules_only()
    risk = RiskFactory(account=account, risk_type="low_sentiment")
    evaluate()
    risk.refresh_from_db()
    assert (risk.status, risk.condition_cleared_at) == ("open", None)


def test_risks_are_not_raised_on_churned_accounts():
    rules_only(RiskType.NO_SPONSOR)
    churned = AccountFactory(status="churned")
    evaluate()
    assert open_risks(churned) == []
