import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from accounts.models import Contact
from risk.tasks import nightly
from scorecards.models import CurrentScore, MeasureValue, ScoreRun
from tests.accounts.factories import AccountFactory, ContactFactory, TouchpointFactory


@pytest.mark.django_db
def test_nightly_schedule_runs_the_risk_nightly_task():
    # Partition upkeep (01:xx) before the nightly run (02:00), retention (04:00) after it,
    # the hourly sweep of overdue tasks, and every minute the outbound events sweep.
    enabled = PeriodicTask.objects.filter(enabled=True).order_by("task")
    assert list(enabled.values_list("task", flat=True)) == [
        "events.tasks.deliveries_sweep",
        "metrics.tasks.metric_value_partitions_ensure",
        "playbooks.tasks.tasks_overdue_record",
        "risk.tasks.nightly",
        "scorecards.tasks.partitions_maintain",
        "scorecards.tasks.retention_apply",
    ]
    nightly = enabled.get(task="risk.tasks.nightly")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("2", "0")


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC), tick=False)
def test_nightly_computes_sponsor_measures_before_scoring(django_capture_on_commit_callbacks):
    account = AccountFactory()
    sponsor = ContactFactory(account=account, role=Contact.Role.EXECUTIVE_SPONSOR)
    touchpoint = TouchpointFactory(account=account, occurred_on=dt.date(2026, 11, 11))
    touchpoint.contacts.add(sponsor)

    with django_capture_on_commit_callbacks(execute=True):
        nightly()

    computed = dict(
        MeasureValue.objects.filter(account=account, source="computed").values_list(
            "measure__key", "raw_value"
        )
    )
    # 9 days since the sponsor touchpoint; an active executive sponsor exists
    assert computed == {"sponsor_engagement": 9.0, "sponsor_coverage": 1.0}
    run = ScoreRun.objects.get()
    assert (run.as_of, run.status) == (dt.date(2026, 11, 20), "finished")
    current = CurrentScore.objects.get(account=account)
    # Only the Relationship group is present: sponsor_engagement 100 − 9/90·100 = 90 (w 60),
    # sponsor_coverage 100 (w 40): (60·90 + 40·100) / 100 = 94.00
    assert current.overall == Decimal("94.00")
