"""Production refuses endpoints on http or on private addresses, at save and at send."""

import pytest
from django.core.exceptions import ValidationError

from events import services
from events.choices import EventType
from events.models import Delivery, WebhookEndpoint
from events.safety import webhook_url_check


@pytest.fixture
def production(settings):
    settings.IS_PRODUCTION = True
    settings.WEBHOOK_ALLOWED_HOSTS = []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "Endpoints must use https."),
        (
            "https://127.0.0.1/x",
            "127.0.0.1 resolves to 127.0.0.1, which is not a public address; list the host "
            "in WEBHOOK_ALLOWED_HOSTS to allow it.",
        ),
        (
            "https://localhost/x",
            "localhost resolves to 127.0.0.1, which is not a public address; list the host "
            "in WEBHOOK_ALLOWED_HOSTS to allow it.",
        ),
        (
            "https://10.1.2.3/x",
            "10.1.2.3 resolves to 10.1.2.3, which is not a public address; list the host in "
            "WEBHOOK_ALLOWED_HOSTS to allow it.",
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254 resolves to 169.254.169.254, which is not a public address; "
            "list the host in WEBHOOK_ALLOWED_HOSTS to allow it.",
        ),
        (
            "https://[::1]/x",
            "::1 resolves to ::1, which is not a public address; list the host in "
            "WEBHOOK_ALLOWED_HOSTS to allow it.",
        ),
    ],
)
def test_webhook_url_check_refuses_in_production(production, url, message):
    with pytest.raises(ValidationError) as refused:
        webhook_url_check(url)
    assert refused.value.message_dict == {"url": [message]}


def test_webhook_url_check_passes_a_public_address(production):
    assert webhook_url_check("https://93.184.215.14/hook") is None


def test_webhook_url_check_passes_an_allowed_host(production, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    assert webhook_url_check("https://localhost/hook") is None


def test_webhook_url_check_allows_loopback_outside_production(settings):
    settings.IS_PRODUCTION = False
    assert webhook_url_check("http://127.0.0.1:8080/hook") is None


@pytest.mark.django_db
def test_endpoint_on_a_private_address_is_refused_at_save(production):
    with pytest.raises(ValidationError) as refused:
        services.webhook_endpoint_create(url="https://192.168.1.20/hook")
    assert list(refused.value.message_dict) == ["url"]
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_endpoint_on_a_private_address_is_refused_at_send(receiver, settings):
    # Saved while it was allowed (DNS said otherwise then); production checks again at send.
    endpoint = services.webhook_endpoint_create(url=receiver.url).endpoint
    settings.IS_PRODUCTION = True
    event = services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={})
    services.events_fan_out(event_ids=[event.pk])
    services.endpoint_deliveries_send(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error, receiver.received) == (
        "pending",
        1,
        "Refused: Endpoints must use https.",
        [],
    )
