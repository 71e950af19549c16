"""Outbound events on a real Redis broker and Celery worker, to a real HTTP receiver on
loopback: signatures, retries with the same webhook-id, 410, a worker killed mid-request, and
the Slack and Teams digest of a big nightly run."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import Account
from events import services
from events.choices import EventType
from events.models import Delivery, WebhookEndpoint
from events.tasks import deliveries_sweep
from risk.models import RiskRule
from scorecards.models import MeasureValue
from scorecards.services import scoring
from tests.events.conftest import receiver_running
from tests.integration.conftest import wait_until
from tests.scorecards.factories import (
    BandFactory,
    MeasureGroupFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
)

pytestmark = pytest.mark.integration

# Retries within a second, a 0.5 s timeout, and a 2 s lease, so that a killed worker's
# delivery is free again soon.
FAST = {
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_MAX_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "0.5",
    "WEBHOOK_LEASE_SECONDS": "2",
    "WEBHOOK_DIGEST_DELAY_SECONDS": "0.5",
}


@pytest.fixture
def receiver():
    with receiver_running() as running:
        yield running


@pytest.fixture
def worker(celery_worker_process):
    celery_worker_process.env.update(FAST)
    return celery_worker_process


def record_published() -> int:
    with transaction.atomic():
        event = services.event_record(
            event_type=EventType.SCORECARD_PUBLISHED, data={"scorecard": {"name": "X"}}
        )
    return event.pk


def delivery_status(delivery_filter: dict) -> str | None:
    return Delivery.objects.filter(**delivery_filter).values_list("status", flat=True).first()


def test_worker_retries_a_500_and_a_timeout_with_the_same_webhook_id(worker, receiver):
    receiver.statuses = [500, 200, 200]
    receiver.delays = [0, 1.0, 0]  # the second answer comes after the 0.5 s timeout
    created = services.webhook_endpoint_create(url=receiver.url)
    worker.start()
    event_id = record_published()
    wait_until(
        lambda: delivery_status({"event_id": event_id}) == "delivered",
        seconds=30,
        message="the event was not delivered after a 500 and a timeout",
    )
    delivery = Delivery.objects.get(event_id=event_id)
    assert (delivery.attempts, delivery.response_code) == (3, 200)
    assert receiver.webhook_ids() == [delivery.webhook_id] * 3
    last = receiver.received[-1]
    assert Webhook(created.secret).verify(last.body, last.headers)["type"] == (
        "scorecard.published"
    )


def test_worker_410_disables_the_endpoint(worker, receiver):
    receiver.statuses = [410]
    endpoint = services.webhook_endpoint_create(url=receiver.url).endpoint
    worker.start()
    event_id = record_published()
    wait_until(
        lambda: delivery_status({"event_id": event_id}) == "failed",
        seconds=30,
        message="the 410 did not fail the delivery",
    )
    endpoint.refresh_from_db()
    assert (endpoint.is_active, len(receiver.received)) == (False, 1)


def test_outbox_survives_a_worker_killed_mid_request(worker, receiver):
    receiver.hold = threading.Event()  # the first request waits until released
    services.webhook_endpoint_create(url=receiver.url)
    first_worker = worker.start()
    event_id = record_published()
    wait_until(lambda: len(receiver.received) == 1, seconds=30, message="nothing was sent")
    worker.kill(first_worker)
    receiver.hold.set()  # answers a dead socket: the sender never learns it was delivered
    delivery = Delivery.objects.get(event_id=event_id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)

    worker.start()

    def delivered_after_a_sweep() -> bool:
        deliveries_sweep.delay()  # the beat schedule does this every minute
        time.sleep(0.5)
        return delivery_status({"event_id": event_id}) == "delivered"

    wait_until(delivered_after_a_sweep, seconds=30, message="the delivery was lost")
    assert receiver.webhook_ids() == [delivery.webhook_id, delivery.webhook_id]


def test_outbox_event_recorded_while_no_worker_runs_is_sent_when_one_starts(worker, receiver):
    services.webhook_endpoint_create(url=receiver.url)
    event_id = record_published()
    assert Delivery.objects.count() == 0
    worker.start()
    wait_until(
        lambda: delivery_status({"event_id": event_id}) == "delivered",
        seconds=30,
        message="the queued event was not sent",
    )
    assert len(receiver.received) == 1


# --- A big nightly run ----------------------------------------------------------------------

ACCOUNTS = 300
TO_RED = 200  # the others go to Yellow


def portfolio_scored(day: dt.date) -> list[Account]:
    """300 Enterprise accounts on a three-measure scorecard, all Green (78.00) on `day`."""
    card = ScorecardFactory(name="Enterprise", priority=1, segments=["Enterprise"])
    for label, low in (("Red", 0), ("Yellow", 50), ("Green", 75)):
        BandFactory(scorecard=card, label=label, min_score=Decimal(low))
    outcomes = MeasureGroupFactory(scorecard=card, name="Outcomes", weight=60, position=0)
    experience = MeasureGroupFactory(scorecard=card, name="Experience", weight=40, position=1)
    measures = {
        "m1": ScorecardMeasureFactory(group=outcomes, measure__key="m1", weight=30).measure,
        "m2": ScorecardMeasureFactory(group=outcomes, measure__key="m2", weight=10).measure,
        "m3": ScorecardMeasureFactory(group=experience, measure__key="m3", weight=1).measure,
    }
    accounts = Account.objects.bulk_create(
        Account(external_id=f"BIG-{n:03d}", name=f"Account {n:03d}", segment="Enterprise")
        for n in range(ACCOUNTS)
    )
    values(accounts, measures, day, m1=80, m2=40, m3=90)
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=day))
    return accounts, measures


def values(accounts, measures, day, **raw_by_key):
    MeasureValue.objects.bulk_create(
        MeasureValue(
            account=account,
            measure=measures[key],
            raw_value=raw,
            score=raw,
            as_of=day,
            source="api",
        )
        for account in accounts
        for key, raw in raw_by_key.items()
    )


def test_big_nightly_run_sends_one_digest_to_slack_and_teams(worker, receiver):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    today = timezone.localdate()
    # No risk rule: the digest holds the band moves only (tests/events covers its risks).
    RiskRule.objects.update(is_enabled=False)
    accounts, measures = portfolio_scored(yesterday)
    base = receiver.url.rsplit("/", 1)[0]
    for name in ("standard", "slack", "teams"):
        services.webhook_endpoint_create(url=f"{base}/{name}", format=name)
    # 27.00 (Red): Outcomes (30·20 + 10·40) / 40 = 25, Experience 30 → 0.6·25 + 0.4·30.
    values(accounts[:TO_RED], measures, today, m1=20, m3=30)
    # 52.50 (Yellow): Outcomes (30·50 + 10·40) / 40 = 47.5, Experience 60.
    values(accounts[TO_RED:], measures, today, m1=50, m3=60)
    worker.start()
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=today))

    wait_until(
        lambda: (
            len(receiver.on_path("/standard")) == ACCOUNTS + 1
            and len(receiver.on_path("/teams")) == 1
        ),
        seconds=90,
        message="the run's events were not all delivered",
    )
    time.sleep(0.5)  # nothing more may come
    standard_types = sorted(r.json["type"] for r in receiver.on_path("/standard"))
    assert standard_types == ["score.band_changed"] * ACCOUNTS + ["score_run.finished"]
    [slack] = receiver.on_path("/slack")
    blocks = slack.json["attachments"][0]["blocks"]
    assert blocks[0]["text"]["text"] == f"*Scores for {today}: 300 accounts changed band*"
    # Ten largest moves: the 200 moves to Red are all −51.00, the first ten names win.
    assert blocks[1]["text"]["text"].split("\n") == [
        "Moved to Red: 200",
        "Moved to Yellow: 100",
        "Largest moves:",
        *[f"Account {n:03d}: Green → Red (78.00 → 27.00, -51.00 pts)" for n in range(10)],
    ]
    [teams] = receiver.on_path("/teams")
    card = teams.json["attachments"][0]["content"]
    assert card["body"][0]["text"] == f"Scores for {today}: 300 accounts changed band"
    assert Delivery.objects.filter(status="delivered").count() == ACCOUNTS + 3
    assert WebhookEndpoint.objects.filter(is_active=True).count() == 3
