"""Snooze (PRODUCT.md, "Acting on risks"): closing a risk while its condition holds sets a
snooze date; until then it is not raised again, nor emailed, unless its severity rises."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from risk import services
from risk.choices import RiskType
from risk.models import Risk
from tests.risk.conftest import AS_OF, open_risks, rules_only, sentiment

# The clock stands on AS_OF's evening: "today" for the snooze is AS_OF.
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today_is_as_of():
    with time_machine.travel(dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


def evaluate(as_of: dt.date = AS_OF):
    return services.risks_evaluate(as_of=as_of, account_ids=None)


def close(account, user, *, to_status="resolved", **kwargs) -> Risk:
    return services.risk_transition(
        risk=open_risks(account)[0], to_status=to_status, user=user, note="Handled.", **kwargs
    )


def test_closing_while_the_condition_holds_snoozes_30_days_by_default(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    risk = close(account, csm)
    assert risk.snoozed_until == dt.date(2026, 12, 20)  # 2026-11-20 + 30 days


def test_closing_with_a_chosen_snooze_date_keeps_it(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    risk = close(account, csm, to_status="wont_fix", snoozed_until=dt.date(2026, 12, 1))
    assert risk.snoozed_until == dt.date(2026, 12, 1)


def test_closing_after_the_condition_cleared_does_not_snooze(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    sentiment(account, 75, as_of=AS_OF + dt.timedelta(days=1))
    evaluate(AS_OF + dt.timedelta(days=1))
    risk = close(account, csm)
    assert risk.snoozed_until is None


def test_a_snooze_date_not_after_today_is_refused_and_nothing_changes(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    with pytest.raises(services.RiskTransitionError) as refused:
        close(account, csm, snoozed_until=AS_OF)
    assert (refused.value.code, open_risks(account)[0].status) == (
        "snooze_date_not_in_future",
        "open",
    )


def test_a_snoozed_risk_is_not_raised_again_nor_emailed_before_its_date(
    account, csm, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    close(account, csm, snoozed_until=dt.date(2026, 12, 1))
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = evaluate(dt.date(2026, 11, 30))
    assert (open_risks(account), dict(evaluation.silenced), len(mail.outbox)) == (
        [],
        {"low_sentiment": 1},
        0,
    )


def test_a_snoozed_risk_is_raised_again_from_its_snooze_date(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    close(account, csm, snoozed_until=dt.date(2026, 12, 1))
    evaluate(dt.date(2026, 12, 1))
    assert list(account.risks.order_by("pk").values_list("status", flat=True)) == [
        "resolved",
        "open",
    ]


def test_a_snoozed_risk_whose_severity_rises_is_raised_and_emailed(
    account, csm, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)  # high
    evaluate()
    close(account, csm)
    sentiment(account, 0, as_of=AS_OF + dt.timedelta(days=1))  # critical at 0
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(AS_OF + dt.timedelta(days=1))
    assert ([(r.status, r.severity) for r in account.risks.order_by("pk")], len(mail.outbox)) == (
        [("resolved", "high"), ("open", "critical")],
        1,
    )
