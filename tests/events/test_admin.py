"""CS Ops manage endpoints in the admin: the secret is shown once, in a message."""

import pytest
from django.urls import reverse

from accounts import roles
from events import services
from events.choices import EventType
from events.models import WebhookEndpoint
from events.secrets import webhook_secret_decrypt
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_admin(client):
    client.force_login(UserFactory(username="ops", role=roles.CS_OPS, is_staff=True))
    return client


def test_admin_endpoint_add_shows_the_secret_once(ops_admin):
    response = ops_admin.post(
        reverse("admin:events_webhookendpoint_add"),
        {
            "url": "http://127.0.0.1:9/hook",
            "format": "teams",
            "description": "CS channel",
            "event_types": '["risk.opened"]',
            "segments": "[]",
            "owners": "[]",
            "min_severity": "",
            "is_active": "on",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    [message, _added] = [str(m) for m in response.context["messages"]]
    secret = webhook_secret_decrypt(endpoint.secret_encrypted)
    assert (response.status_code, endpoint.format, endpoint.event_types) == (
        200,
        "teams",
        ["risk.opened"],
    )
    assert message == f"The endpoint's secret, shown this once: {secret}"
    page = ops_admin.get(reverse("admin:events_webhookendpoint_change", args=[endpoint.pk]))
    assert secret.encode() not in page.content


def test_admin_endpoint_add_refuses_an_unknown_event_type(ops_admin):
    response = ops_admin.post(
        reverse("admin:events_webhookendpoint_add"),
        {"url": "http://127.0.0.1:9/hook", "format": "standard", "event_types": '["nope"]',
         "segments": "[]", "owners": "[]", "min_severity": "", "is_active": "on"},
    )  # fmt: skip
    assert (response.status_code, WebhookEndpoint.objects.count()) == (200, 0)
    assert b"Unknown event types: nope." in response.content


def test_admin_delivery_log_lists_deliveries(ops_admin):
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    event = services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={})
    services.events_fan_out(event_ids=[event.pk])
    response = ops_admin.get(reverse("admin:events_delivery_changelist"))
    assert (response.status_code, response.context["cl"].result_count) == (200, 1)
    assert endpoint.url.encode() in response.content
