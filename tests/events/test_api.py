"""/api/v1/webhooks/: CS Ops manage endpoints; the secret is shown once; the delivery log and
replays."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from accounts import roles
from events import services
from events.choices import EventType
from events.models import Delivery, WebhookEndpoint
from events.secrets import webhook_secret_decrypt
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def ops_client() -> APIClient:
    return client_for(UserFactory(username="ops", role=roles.CS_OPS))


def test_webhook_create_shows_the_secret_once(ops_client):
    response = ops_client.post(
        "/api/v1/webhooks/",
        {
            "url": "http://127.0.0.1:9/hook",
            "format": "slack",
            "event_types": ["risk.opened"],
            "filters": {"segments": ["SMB"], "owners": [3], "min_severity": "high"},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    secret = body.pop("secret")
    endpoint = WebhookEndpoint.objects.get()
    assert secret.startswith("whsec_")
    assert webhook_secret_decrypt(endpoint.secret_encrypted) == secret
    assert secret not in endpoint.secret_encrypted
    assert {k: body[k] for k in ("id", "url", "format", "event_types", "filters", "active")} == {
        "id": endpoint.pk,
        "url": "http://127.0.0.1:9/hook",
        "format": "slack",
        "event_types": ["risk.opened"],
        "filters": {"segments": ["SMB"], "owners": [3], "min_severity": "high"},
        "active": True,
    }
    shown_again = ops_client.get(f"/api/v1/webhooks/{endpoint.pk}/").json()
    assert "secret" not in shown_again


def test_webhook_create_refuses_an_unknown_event_type(ops_client):
    response = ops_client.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["risk.exploded"]},
        format="json",
    )
    assert (response.status_code, list(response.json()["fields"])) == (400, ["event_types.0"])


def test_webhook_create_refuses_a_private_url_in_production(ops_client, settings):
    settings.IS_PRODUCTION = True
    response = ops_client.post("/api/v1/webhooks/", {"url": "https://10.0.0.8/x"}, format="json")
    assert (response.status_code, response.json()["fields"]) == (
        400,
        {
            "url": [
                "10.0.0.8 resolves to 10.0.0.8, which is not a public address; list the host in "
                "WEBHOOK_ALLOWED_HOSTS to allow it."
            ]
        },
    )


@pytest.mark.parametrize("role", [roles.CSM, roles.CS_LEADER, roles.INTEGRATION])
def test_webhooks_are_refused_to_other_roles(role):
    client = client_for(UserFactory(username="someone", role=role))
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    answers = [
        client.get("/api/v1/webhooks/").status_code,
        client.post(
            "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/x"}, format="json"
        ).status_code,
        client.patch(
            f"/api/v1/webhooks/{endpoint.pk}/", {"active": False}, format="json"
        ).status_code,
        client.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code,
        client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate/").status_code,
        client.post(f"/api/v1/webhooks/{endpoint.pk}/test/").status_code,
        client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").status_code,
    ]
    assert answers == [403] * 7
    assert WebhookEndpoint.objects.get().is_active is True


def test_webhook_rotate_shows_the_new_secret_and_keeps_the_old_one_a_day(ops_client):
    created = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook")
    response = ops_client.post(f"/api/v1/webhooks/{created.endpoint.pk}/rotate/")
    endpoint = WebhookEndpoint.objects.get()
    new_secret = response.json()["secret"]
    assert new_secret != created.secret
    assert (
        webhook_secret_decrypt(endpoint.secret_encrypted),
        webhook_secret_decrypt(endpoint.previous_secret_encrypted),
    ) == (new_secret, created.secret)
    left = endpoint.previous_secret_expires_at - timezone.now()
    assert dt.timedelta(hours=23, minutes=59) < left <= dt.timedelta(hours=24)


def test_webhook_test_sends_a_signed_ping(ops_client, receiver):
    created = services.webhook_endpoint_create(url=receiver.url)
    response = ops_client.post(f"/api/v1/webhooks/{created.endpoint.pk}/test/")
    body = response.json()
    got = receiver.received[0]
    assert Webhook(created.secret).verify(got.body, got.headers)["type"] == "webhook.ping"
    assert (body["status"], body["event_type"], body["response_code"], body["attempts"]) == (
        "delivered",
        "webhook.ping",
        200,
        1,
    )


def test_webhook_update_enables_again_and_clears_the_reason(ops_client):
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="410")
    response = ops_client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": True}, format="json")
    assert (response.json()["active"], response.json()["disabled_reason"]) == (True, "")


def delivered_once(endpoint) -> Delivery:
    event = services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={"x": 1})
    services.events_fan_out(event_ids=[event.pk])
    services.endpoint_deliveries_send(endpoint_id=endpoint.pk)
    return Delivery.objects.select_related("event").get(event=event, endpoint=endpoint)


def drf_time(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def test_webhook_deliveries_lists_the_log_as_a_bare_list(ops_client, receiver):
    receiver.statuses = [503]
    endpoint = services.webhook_endpoint_create(url=receiver.url).endpoint
    delivery = delivered_once(endpoint)
    response = ops_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    # PRODUCT.md's fields, then the log's own (the webhook-id, the receiver's answer, times).
    assert (response.json(), response.has_header("Link")) == (
        [
            {
                "id": delivery.pk,
                "event_id": delivery.event.public_id,
                "event_type": "scorecard.published",
                "status": "pending",
                "attempts": 1,
                "next_attempt_at": drf_time(delivery.next_attempt_at),
                "response_code": 503,
                "duration_ms": delivery.duration_ms,
                "webhook_id": delivery.webhook_id,
                "is_digest": False,
                "response_body": '{"ok": true}',
                "error": "",
                "created_at": drf_time(delivery.created_at),
                "last_attempt_at": drf_time(delivery.last_attempt_at),
                "delivered_at": None,
            }
        ],
        False,
    )


def deliveries_made(endpoint, count: int) -> list[int]:
    """`count` pending deliveries to `endpoint`, a minute apart, oldest first."""
    events = [
        services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={"n": n})
        for n in range(count)
    ]
    services.events_fan_out(event_ids=[event.pk for event in events])
    ids = list(
        Delivery.objects.filter(endpoint=endpoint).order_by("event_id").values_list("pk", flat=True)
    )
    start = timezone.now() - dt.timedelta(hours=1)
    for minutes, pk in enumerate(ids):
        Delivery.objects.filter(pk=pk).update(created_at=start + dt.timedelta(minutes=minutes))
    return ids


def test_webhook_deliveries_pages_by_the_link_header_newest_first(ops_client):
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    oldest, middle, newest = deliveries_made(endpoint, 3)
    first = ops_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/?page_size=2")
    [(next_url, next_rel)] = re.findall(r'<([^>]+)>; rel="(\w+)"', first["Link"])
    last = ops_client.get(next_url)
    [(prev_url, prev_rel)] = re.findall(r'<([^>]+)>; rel="(\w+)"', last["Link"])
    assert (
        [line["id"] for line in first.json()],
        next_rel,
        [line["id"] for line in last.json()],
        prev_rel,
        [line["id"] for line in ops_client.get(prev_url).json()],
    ) == ([newest, middle], "next", [oldest], "prev", [newest, middle])


def test_webhook_deliveries_link_keeps_the_filter(ops_client):
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    oldest, middle, newest = deliveries_made(endpoint, 3)
    Delivery.objects.filter(pk=middle).update(status="failed")
    first = ops_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/?status=pending&page_size=1")
    [next_url] = re.findall(r'<([^>]+)>; rel="next"', first["Link"])
    last = ops_client.get(next_url)
    assert (
        [line["id"] for line in first.json()],
        [line["id"] for line in last.json()],
        last.has_header("Link") and 'rel="next"' in last["Link"],
    ) == ([newest], [oldest], False)


def test_webhook_deliveries_page_size_is_100_unless_asked(ops_client):
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    deliveries_made(endpoint, 101)
    url = f"/api/v1/webhooks/{endpoint.pk}/deliveries/"
    default, asked = ops_client.get(url), ops_client.get(f"{url}?page_size=1000")
    assert (len(default.json()), 'rel="next"' in default["Link"], len(asked.json())) == (
        100,
        True,
        101,
    )


def test_webhook_deliveries_filter_by_a_moment_with_any_rfc3339_offset(ops_client):
    # PostgreSQL takes offsets up to ±15:59 only: the moment is compared in UTC, not a 500.
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    delivery = services.webhook_endpoint_ping(endpoint=endpoint)
    response = ops_client.get(
        f"/api/v1/webhooks/{endpoint.pk}/deliveries/",
        {"created_after": "2000-01-01T00:00:00-23:30", "created_before": "2999-01-01T00:00:00Z"},
    )
    assert (response.status_code, [line["id"] for line in response.json()]) == (
        200,
        [delivery.pk],
    )


def test_webhook_delivery_replay_sends_again_with_the_same_id(
    ops_client, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(url=receiver.url).endpoint
    delivery = delivered_once(endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/replay/"
        )
    delivery.refresh_from_db()
    assert response.status_code == 200
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert receiver.webhook_ids() == [delivery.webhook_id, delivery.webhook_id]


def test_webhook_deliveries_replay_sends_the_failed_ones_since_a_date(
    ops_client, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(url=receiver.url).endpoint
    old, recent, fine = (delivered_once(endpoint) for _ in range(3))
    Delivery.objects.filter(pk__in=[old.pk, recent.pk]).update(status="failed")
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    since = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            f"/api/v1/webhooks/{endpoint.pk}/deliveries/replay/", {"since": since}, format="json"
        )
    assert response.json() == {"replayed": 1}
    assert dict(Delivery.objects.values_list("pk", "status")) == {
        old.pk: "failed",
        recent.pk: "delivered",
        fine.pk: "delivered",
    }
    assert receiver.webhook_ids().count(recent.webhook_id) == 2


def test_webhook_delivery_replay_of_another_endpoints_delivery_is_404(ops_client, receiver):
    first = services.webhook_endpoint_create(url=receiver.url).endpoint
    second = services.webhook_endpoint_create(url=receiver.url).endpoint
    delivery = delivered_once(first)
    response = ops_client.post(f"/api/v1/webhooks/{second.pk}/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 404
