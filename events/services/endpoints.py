"""Endpoints CS Ops manage, their secrets, test pings and replays."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from events.choices import SUBSCRIBABLE_TYPES, DeliveryStatus, EventType, Severity
from events.models import Delivery, Event, WebhookEndpoint
from events.safety import webhook_url_check
from events.secrets import webhook_secret_encrypt, webhook_secret_generate

# After a rotation the previous secret signs too, for this long (PRODUCT.md: 24 hours).
PREVIOUS_SECRET_VALID = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and its secret in plain text: returned once, at creation or rotation."""

    endpoint: WebhookEndpoint
    secret: str


def webhook_endpoint_validate(endpoint: WebhookEndpoint) -> None:
    """Field rules (event types, filters) and the URL's safety; ValidationError by field."""
    errors: dict[str, list[str]] = {}
    unknown = [t for t in endpoint.event_types if t not in SUBSCRIBABLE_TYPES]
    if unknown:
        errors["event_types"] = [f"Unknown event types: {', '.join(map(str, unknown))}."]
    if not all(isinstance(s, str) for s in endpoint.segments):
        errors["filters.segments"] = ["Segments are names (strings)."]
    if not all(isinstance(o, int) and not isinstance(o, bool) for o in endpoint.owners):
        errors["filters.owners"] = ["Owners are user ids (integers)."]
    if endpoint.min_severity and endpoint.min_severity not in Severity.values:
        errors["filters.min_severity"] = [f"One of {', '.join(Severity.values)}."]
    try:
        webhook_url_check(endpoint.url)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def webhook_endpoint_create(
    *, user: AbstractBaseUser | None = None, **fields
) -> EndpointWithSecret:
    """Create an endpoint with a new secret. `fields`: url, format, description,
    event_types, segments, owners, min_severity, is_active. Raises ValidationError."""
    secret = webhook_secret_generate()
    endpoint = WebhookEndpoint(
        **fields,
        secret_encrypted=webhook_secret_encrypt(secret),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    webhook_endpoint_validate(endpoint)
    endpoint.full_clean(exclude=["secret_encrypted"])
    endpoint.save()
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **fields) -> WebhookEndpoint:
    """Change an endpoint's URL, format, filters or state. Enabling a disabled endpoint
    clears its failure streak; the URL is checked again."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    if fields.get("is_active"):
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    webhook_endpoint_validate(endpoint)
    endpoint.full_clean(exclude=["secret_encrypted"])
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate(*, endpoint: WebhookEndpoint) -> EndpointWithSecret:
    """A new secret; the previous one keeps signing for 24 hours beside it."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = webhook_secret_generate()
    locked.previous_secret_encrypted = locked.secret_encrypted
    locked.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_VALID
    locked.secret_encrypted = webhook_secret_encrypt(secret)
    locked.save(
        update_fields=[
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "secret_encrypted",
            "updated_at",
        ]
    )
    return EndpointWithSecret(endpoint=locked, secret=secret)


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> Delivery:
    """Send a `webhook.ping` to the endpoint now, in this process, and return its delivery
    (status, response code, duration) for the person who asked."""
    from events.services.sending import delivery_send_now

    with transaction.atomic():
        event = Event.objects.create(
            event_type=EventType.PING,
            data={"endpoint": endpoint.pk, "message": "A test from Healthscore."},
            fanned_out_at=timezone.now(),
        )
        delivery = Delivery.objects.create(
            endpoint=endpoint, event=event, next_attempt_at=timezone.now()
        )
    return delivery_send_now(delivery=delivery)


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send a delivery again, with the same `webhook-id`: it becomes pending, due now, with
    a fresh 24 hours of retries. ValidationError when its endpoint is disabled."""
    from events import tasks

    if not delivery.endpoint.is_active:
        raise ValidationError("The endpoint is disabled; enable it before replaying.")
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            first_attempt_at=None,
            locked_until=None,
        )
        transaction.on_commit(lambda: tasks.deliveries_send.delay(delivery.endpoint_id))
    delivery.refresh_from_db()
    return delivery


def deliveries_replay_failed(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Replay every failed delivery of the endpoint made since `since`. Returns how many."""
    from events import tasks

    if not endpoint.is_active:
        raise ValidationError("The endpoint is disabled; enable it before replaying.")
    now = timezone.now()
    with transaction.atomic():
        count = Delivery.objects.filter(
            endpoint=endpoint, status=DeliveryStatus.FAILED, created_at__gte=since
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            first_attempt_at=None,
            locked_until=None,
        )
        if count:
            transaction.on_commit(lambda: tasks.deliveries_send.delay(endpoint.pk))
    return count
