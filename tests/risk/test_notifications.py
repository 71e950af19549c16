"""The owner's email when a risk opens or turns critical: at most one per risk per day."""

import datetime as dt

import pytest
import time_machine

from risk import services
from risk.choices import RiskType
from risk.models import Risk
from risk.notifications import risk_notify
from tests.accounts.factories import AccountFactory
from tests.risk.conftest import AS_OF, open_risks, rules_only, sentiment
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


def evaluate(as_of: dt.date, capture) -> None:
    with capture(execute=True):
        services.risks_evaluate(as_of=as_of)


def test_risk_opening_emails_the_owner(
    account, mailoutbox, django_capture_on_commit_callbacks, csm
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    [email] = mailoutbox
    assert (email.to, email.subject) == (
        ["csm@example.com"],
        f"[Healthscore] High risk on {account.name}: Low sentiment",
    )
    assert email.body == (
        f"A high risk is open on {account.name}: Low sentiment.\n"
        "Raised by rule:low_sentiment on 2026-11-20.\n\n"
        "Evidence:\n"
        "  as_of: 2026-11-20\n"
        "  sentiment_score: 25.0\n"
        "  threshold: 25.0\n"
        "  value_as_of: 2026-11-20\n"
    )
    assert open_risks(account)[0].last_notified_on == dt.date(2026, 11, 20)


def test_risk_raised_again_sends_no_new_email(
    account, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    with time_machine.travel(MORNING + dt.timedelta(days=1), tick=False):
        evaluate(AS_OF + dt.timedelta(days=1), django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1


def test_risk_turning_critical_the_same_day_sends_no_second_email(
    account, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25, as_of=AS_OF - dt.timedelta(days=1))
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF - dt.timedelta(days=1), django_capture_on_commit_callbacks)
        sentiment(account, 0)
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    assert (len(mailoutbox), open_risks(account)[0].severity) == (1, "critical")


def test_risk_turning_critical_the_next_day_emails_again(
    account, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    sentiment(account, 0, as_of=AS_OF + dt.timedelta(days=1))
    with time_machine.travel(MORNING + dt.timedelta(days=1), tick=False):
        evaluate(AS_OF + dt.timedelta(days=1), django_capture_on_commit_callbacks)
    assert [email.subject.split(" risk")[0] for email in mailoutbox] == [
        "[Healthscore] High",
        "[Healthscore] Critical",
    ]


def test_risk_notify_twice_the_same_day_sends_one_email(account, mailoutbox):
    risk = RiskFactory(account=account)
    sent = [risk_notify(risk=risk, today=AS_OF), risk_notify(risk=risk, today=AS_OF)]
    assert (sent, len(mailoutbox)) == ([True, False], 1)


def test_risk_notify_without_an_owner_sends_nothing(mailoutbox):
    risk = RiskFactory(account=AccountFactory(owner=None))
    assert (risk_notify(risk=risk, today=AS_OF), mailoutbox) == (False, [])


def test_risk_notify_a_closed_risk_sends_nothing(account, mailoutbox):
    risk = RiskFactory(account=account, status="resolved")
    assert (risk_notify(risk=risk, today=AS_OF), mailoutbox) == (False, [])


def test_risk_notify_failing_gives_the_day_back(account, mailoutbox, monkeypatch):
    risk = RiskFactory(account=account)

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("risk.notifications.send_mail", refuse)
    with pytest.raises(ConnectionRefusedError):
        risk_notify(risk=risk, today=AS_OF)
    assert Risk.objects.get(pk=risk.pk).last_notified_on is None


def test_dry_run_sends_no_email(account, mailoutbox, django_capture_on_commit_callbacks):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.risks_evaluate(as_of=AS_OF, dry_run=True)
    assert mailoutbox == []
