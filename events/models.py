"""The outbox (Event), the places events go (WebhookEndpoint) and the delivery log (Delivery)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.choices import DeliveryStatus, EndpointFormat, EventType, Severity


class Event(models.Model):
    """Something that happened, written in the transaction of the change itself (an outbox):
    it exists, and is sent, if and only if the change committed. Immutable once written."""

    uid = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    # Copied from the account when recorded, for the endpoints' filters; the envelope's data
    # keeps what the account was then.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    segment = models.CharField(max_length=50, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    # The score run behind the event, as a plain id: events sit below scorecards. A band move
    # of a full (nightly) run reaches Slack and Teams in the run's digest, not on its own.
    score_run_id = models.BigIntegerField(null=True, blank=True)
    is_in_digest = models.BooleanField(
        default=False, help_text=_("Slack and Teams get it in its run's digest.")
    )
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When its deliveries were made; empty until then.")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["uid"], name="%(app_label)s_%(class)s_uid_unique"),
        ]
        indexes = [
            # The sweep looks for events whose fan-out task was lost.
            models.Index(
                fields=["created_at"],
                condition=Q(fanned_out_at__isnull=True),
                name="event_not_fanned_out",
            ),
            models.Index(
                fields=["score_run_id", "event_type"],
                condition=Q(score_run_id__isnull=False),
                name="event_score_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.public_id}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.uid.hex}"


class WebhookEndpoint(models.Model):
    """A URL that CS Ops asked events to be sent to, in one format, with filters."""

    url = models.URLField(max_length=500)
    format = models.CharField(
        max_length=10, choices=EndpointFormat.choices, default=EndpointFormat.STANDARD
    )
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list, blank=True, help_text=_("The event types it gets; empty: every type.")
    )
    segments = models.JSONField(
        default=list, blank=True, help_text=_("Only accounts of these segments; empty: all.")
    )
    owners = models.JSONField(
        default=list, blank=True, help_text=_("Only accounts owned by these user ids; empty: all.")
    )
    min_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        blank=True,
        help_text=_("Events with a severity (risks) below it are not sent."),
    )
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Fernet tokens (events.secrets); the secret itself is shown once and never stored plain.
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text=_("The first failure since the last success.")
    )
    # One sender at a time per endpoint (events.services.sending): a slow receiver holds one
    # worker slot, with a bounded number of requests in flight, and never the others.
    sender_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")

    def __str__(self) -> str:
        return f"{self.get_format_display()}: {self.url}"


class Delivery(models.Model):
    """One event (or one run's digest) on its way to one endpoint, and how it went.

    Its `uid` is the `webhook-id` header: the same on every retry and replay, so a receiver
    can drop what it already has."""

    uid = models.UUIDField(default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    is_digest = models.BooleanField(
        default=False, help_text=_("The digest of the event's score run (Slack and Teams).")
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender that claimed the delivery owns it until then; a worker killed mid-request
    # leaves it to the sweep once this has passed.
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text=_("The first 1,000 characters."))
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("deliveries")
        constraints = [
            # Fanning an event out twice (a retried task, the sweep) makes no second delivery.
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="%(app_label)s_%(class)s_one_per_endpoint"
            ),
            models.UniqueConstraint(fields=["uid"], name="%(app_label)s_%(class)s_uid_unique"),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_pending_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_created"),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} → {self.endpoint_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.uid.hex}"
