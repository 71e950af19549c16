"""The nightly chain on a real Redis broker and Celery worker: recompute, then risks (through
SCORE_RUN_FINISHED_TASKS), then the owners' emails."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Account, Contact, Touchpoint
from risk.models import Risk
from scorecards.models import Measure, MeasureValue, ScoreRun
from scorecards.tasks import nightly_recompute
from tests.accounts.factories import CsmFactory
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration

ACCOUNTS = 20
LOW_SENTIMENT_ACCOUNTS = 5


def portfolio_create(*, as_of: dt.date) -> None:
    """20 healthy accounts, each with an executive sponsor and a champion met 10 days ago; the
    first 5 have a CSM sentiment of 1 (score 0), the others 4."""
    owner = CsmFactory(username="integration-csm")
    accounts = Account.objects.bulk_create(
        Account(external_id=f"RISK-{n:03d}", name=f"Risk {n}", owner=owner) for n in range(ACCOUNTS)
    )
    raw_by_key = {"roi": 3, "nps": 30, "support": 5, "sponsor_engagement": 10}
    values = []
    for position, account in enumerate(accounts):
        sentiment = 1 if position < LOW_SENTIMENT_ACCOUNTS else 4
        for measure in Measure.objects.all():
            raw = sentiment if measure.key == "csm_sentiment" else raw_by_key.get(measure.key, 0.7)
            values.append(
                MeasureValue(
                    account=account,
                    measure=measure,
                    raw_value=raw,
                    score=50,
                    as_of=as_of,
                    source="api",
                )
            )
        sponsor = Contact.objects.create(
            account=account, name=f"Sponsor {position}", role="executive_sponsor"
        )
        champion = Contact.objects.create(
            account=account, name=f"Champion {position}", role="champion"
        )
        touchpoint = Touchpoint.objects.create(
            account=account, occurred_on=as_of - dt.timedelta(days=10)
        )
        touchpoint.contacts.set([sponsor, champion])
    MeasureValue.objects.bulk_create(values)


def test_nightly_recompute_raises_risks_and_emails_owners(celery_worker_process):
    today = timezone.localdate()
    portfolio_create(as_of=today)
    # The worker writes its emails to its log, whatever the environment says.
    celery_worker_process.env["EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"
    celery_worker_process.start()

    nightly_recompute.delay()
    wait_until(
        lambda: ScoreRun.objects.filter(status="finished").count() == 1,
        seconds=90,
        message="the nightly run did not finish",
    )
    wait_until(
        lambda: Risk.objects.filter(last_notified_on=today).count() == LOW_SENTIMENT_ACCOUNTS,
        seconds=60,
        message="the risks were not raised and notified after the run",
    )
    risks = Risk.objects.order_by("account__external_id")
    assert [
        (risk.account.external_id, risk.risk_type, risk.severity, risk.status) for risk in risks
    ] == [(f"RISK-{n:03d}", "low_sentiment", "critical", "open") for n in range(5)]
    # One owner, five risks: one email.
    digest = "Subject: [Healthscore] 5 new risks on your accounts (5 critical)"
    wait_until(
        lambda: digest in celery_worker_process.log_path.read_text(),
        seconds=30,
        message="the owner's email was not sent",
    )
    assert celery_worker_process.log_path.read_text().count("Subject: [Healthscore]") == 1


def test_nightly_recompute_twice_keeps_one_open_risk_each(celery_worker_process):
    today = timezone.localdate()
    portfolio_create(as_of=today)
    celery_worker_process.start()

    for runs in (1, 2):
        nightly_recompute.delay()
        wait_until(
            lambda runs=runs: ScoreRun.objects.filter(status="finished").count() == runs,
            seconds=90,
            message=f"nightly run {runs} did not finish",
        )
        finished_at = ScoreRun.objects.latest("finished_at").finished_at
        wait_until(
            lambda finished_at=finished_at: (
                Risk.objects.filter(updated_at__gte=finished_at).count() == LOW_SENTIMENT_ACCOUNTS
            ),
            seconds=60,
            message=f"the risks were not evaluated after run {runs}",
        )
    assert (Risk.objects.count(), Risk.objects.filter(status="open").count()) == (5, 5)
