"""Sending to a real HTTP receiver on loopback, in this process (the worker tests drive the
same code through Celery)."""

import socket
import time
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts import roles
from events import services
from events.choices import EventType
from events.models import Delivery, WebhookEndpoint
from tests.accounts.factories import UserFactory
from tests.events.conftest import endpoint_create

pytestmark = pytest.mark.django_db

RUN_DATA = {"run": {"id": 7, "as_of": "2026-11-30", "accounts_scored": 3}}


def sent_once(endpoint: WebhookEndpoint, **record) -> Delivery:
    event = services.event_record(
        event_type=record.pop("event_type", EventType.SCORE_RUN_FINISHED), data=RUN_DATA
    )
    services.events_fan_out(event_ids=[event.pk])
    services.endpoint_deliveries_send(endpoint_id=endpoint.pk)
    return Delivery.objects.select_related("event").get(endpoint=endpoint, event=event)


def send_when_due(endpoint: WebhookEndpoint) -> Delivery:
    delivery = Delivery.objects.get(endpoint=endpoint)
    time.sleep(max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds()) + 0.01)
    services.endpoint_deliveries_send(endpoint_id=endpoint.pk)
    return Delivery.objects.get(pk=delivery.pk)


def test_delivery_signature_verifies_with_the_library(receiver):
    created = endpoint_create(receiver.url)
    delivery = sent_once(created.endpoint)
    got = receiver.received[0]
    payload = Webhook(created.secret).verify(got.body, got.headers)
    created_at = delivery.event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert payload == {
        "id": delivery.event.public_id,
        "type": "score_run.finished",
        "created_at": created_at,
        "data": RUN_DATA,
    }
    assert got.headers["webhook-id"] == delivery.webhook_id
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.response_body == '{"ok": true}'


def test_delivery_retried_after_a_500_with_the_same_webhook_id(receiver, fast_retries):
    receiver.statuses = [500, 200]
    endpoint = endpoint_create(receiver.url).endpoint
    first = sent_once(endpoint)
    assert (first.status, first.attempts, first.response_code) == ("pending", 1, 500)
    assert first.next_attempt_at > first.last_attempt_at
    second = send_when_due(endpoint)
    assert (second.status, second.attempts, second.response_code) == ("delivered", 2, 200)
    assert receiver.webhook_ids() == [first.webhook_id, first.webhook_id]


def test_delivery_retried_after_a_timeout_with_the_same_webhook_id(receiver, fast_retries):
    receiver.delay = 1.0  # the timeout is 0.5 s
    endpoint = endpoint_create(receiver.url).endpoint
    first = sent_once(endpoint)
    assert (first.status, first.response_code, first.error) == ("pending", None, "Timed out")
    receiver.delay = 0
    second = send_when_due(endpoint)
    assert (second.status, second.attempts) == ("delivered", 2)
    assert receiver.webhook_ids() == [first.webhook_id, first.webhook_id]


def test_delivery_refused_connection_is_retried(fast_retries):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = endpoint_create(f"http://127.0.0.1:{port}/hook").endpoint
    delivery = sent_once(endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, None)
    assert delivery.error == "Connection failed: ConnectionRefusedError"


def test_delivery_410_disables_the_endpoint_and_emails_cs_ops(
    receiver, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(username="ops", role=roles.CS_OPS)
    receiver.statuses = [410]
    endpoint = endpoint_create(receiver.url).endpoint
    with django_capture_on_commit_callbacks(execute=True):
        delivery = sent_once(endpoint)
    endpoint.refresh_from_db()
    assert (delivery.status, delivery.response_code) == ("failed", 410)
    assert (endpoint.is_active, endpoint.disabled_reason) == (
        False,
        "The receiver answered 410 Gone: it wants no more events.",
    )
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["ops@example.com"], f"Healthscore: webhook endpoint {endpoint.pk} disabled")
    ]


def test_endpoint_failing_for_a_day_is_disabled(
    receiver, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(username="ops", role=roles.CS_OPS)
    receiver.statuses = [503]
    endpoint = endpoint_create(receiver.url).endpoint
    day_ago = timezone.now() - timedelta(hours=24, minutes=1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=day_ago)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = sent_once(endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, delivery.status) == (False, "failed")
    assert endpoint.disabled_reason.endswith("(last: HTTP 503).")
    assert len(mailoutbox) == 1


def test_endpoint_success_ends_its_failing_streak(receiver):
    endpoint = endpoint_create(receiver.url).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    sent_once(endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.failing_since) == (True, None)


def test_delivery_fails_after_a_day_of_retries(receiver):
    receiver.statuses = [500]
    endpoint = endpoint_create(receiver.url).endpoint
    event = services.event_record(event_type=EventType.SCORE_RUN_FINISHED, data=RUN_DATA)
    services.events_fan_out(event_ids=[event.pk])
    Delivery.objects.filter(endpoint=endpoint).update(
        first_attempt_at=timezone.now() - timedelta(hours=24, seconds=1), attempts=20
    )
    services.endpoint_deliveries_send(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 21, None)


def test_rotated_endpoint_signs_with_both_secrets_for_a_day(receiver):
    created = endpoint_create(receiver.url)
    rotated = services.webhook_endpoint_rotate(endpoint=created.endpoint)
    sent_once(created.endpoint)
    got = receiver.received[0]
    assert got.headers["webhook-signature"].count("v1,") == 2
    for secret in (created.secret, rotated.secret):
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "score_run.finished"


def test_rotated_endpoint_stops_signing_with_the_old_secret_after_a_day(receiver):
    created = endpoint_create(receiver.url)
    services.webhook_endpoint_rotate(endpoint=created.endpoint)
    WebhookEndpoint.objects.filter(pk=created.endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    sent_once(created.endpoint)
    assert receiver.received[0].headers["webhook-signature"].count("v1,") == 1


def test_retry_delay_doubles_within_its_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600

    class Middle:
        def uniform(self, low, high):
            return (low + high) / 2

    from events.services.sending import retry_delay_seconds

    # 30·2^(n−1), capped at 3600, times the middle of 75–125 %.
    assert [retry_delay_seconds(attempts=n, rng=Middle()) for n in (1, 2, 3, 8, 9)] == [
        30.0,
        60.0,
        120.0,
        3600.0,
        3600.0,
    ]


def test_endpoint_sender_skips_when_another_holds_the_lease(receiver):
    endpoint = endpoint_create(receiver.url).endpoint
    event = services.event_record(event_type=EventType.SCORE_RUN_FINISHED, data=RUN_DATA)
    services.events_fan_out(event_ids=[event.pk])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        sender_lease_until=timezone.now() + timedelta(minutes=1)
    )
    summary = services.endpoint_deliveries_send(endpoint_id=endpoint.pk)
    assert (summary.claimed, summary.sent, receiver.received) == (False, 0, [])
