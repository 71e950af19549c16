"""Sending deliveries to endpoints, following the Standard Webhooks specification.

- Headers `webhook-id` (the delivery's id: the same on every retry and replay),
  `webhook-timestamp` and `webhook-signature`, made by the `standardwebhooks` library. During
  the 24 hours after a rotation both secrets sign, so receivers can switch at their pace.
- Any 2xx is delivered. 410 Gone disables the endpoint. Anything else, a timeout
  (WEBHOOK_TIMEOUT_SECONDS, 10 s) or a refused connection is retried with exponential backoff
  and jitter for WEBHOOK_RETRY_FOR_SECONDS (24 h) from the first attempt; an endpoint that has
  failed for WEBHOOK_DISABLE_AFTER_SECONDS (a day) without a success is disabled and CS Ops
  are emailed.
- One sender per endpoint at a time (a lease on the endpoint row), with at most
  WEBHOOK_ENDPOINT_CONCURRENCY requests in flight, and for at most WEBHOOK_SENDER_BUDGET_SECONDS
  before it hands over: a slow receiver occupies one worker slot for a while, never all of them.
- Each delivery is claimed (`locked_until`) before its request: a second sender skips it, and
  one killed mid-request lets the sweep send it again once the lease passes. At least once,
  never lost; the same `webhook-id` lets the receiver drop a repeat.
"""

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts import roles
from events import formats, selectors
from events.choices import DeliveryStatus, EndpointFormat
from events.models import Delivery, WebhookEndpoint
from events.safety import UnsafeUrl, webhook_url_check
from events.secrets import webhook_secret_decrypt

logger = logging.getLogger(__name__)

RESPONSE_BODY_KEPT = 1000
USER_AGENT = "Healthscore-Webhooks/1.0"


@dataclass(frozen=True)
class Attempt:
    """How one request went: the status code (None: no answer), time, body excerpt, error."""

    response_code: int | None
    duration_ms: int
    response_body: str = ""
    error: str = ""

    @property
    def is_delivered(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300

    @property
    def is_gone(self) -> bool:
        return self.response_code == 410


@dataclass(frozen=True)
class SendSummary:
    claimed: bool
    sent: int = 0
    delivered: int = 0
    has_due: bool = False
    next_retry_in: float | None = None


# --- Bodies and headers --------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def delivery_body(*, delivery: Delivery, endpoint: WebhookEndpoint) -> bytes:
    """The request body: the envelope for standard endpoints; for Slack and Teams the
    message people read, or the run's digest."""
    event = delivery.event
    if endpoint.format == EndpointFormat.STANDARD:
        body = formats.envelope(
            event_id=event.public_id,
            event_type=event.event_type,
            created_at=_iso(event.created_at),
            data=event.data,
        )
    elif delivery.is_digest:
        digest = selectors.score_run_digest(event=event, endpoint=endpoint)
        body = formats.people_body(endpoint.format, formats.digest_message(digest))
    else:
        message = formats.event_message(event.event_type, event.data)
        body = formats.people_body(endpoint.format, message)
    return orjson.dumps(body)


def endpoint_signers(*, endpoint: WebhookEndpoint, now: datetime) -> list[Webhook]:
    """The current secret, and the previous one while its 24 hours after a rotation last."""
    secrets = [webhook_secret_decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(webhook_secret_decrypt(endpoint.previous_secret_encrypted))
    return [Webhook(secret) for secret in secrets]


def delivery_headers(
    *, signers: list[Webhook], webhook_id: str, body: bytes, now: datetime
) -> dict[str, str]:
    signed_at = now.astimezone(UTC).replace(microsecond=0)
    text = body.decode()
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": " ".join(
            signer.sign(msg_id=webhook_id, timestamp=signed_at, data=text) for signer in signers
        ),
    }


# --- One request ---------------------------------------------------------------------------

_sessions = threading.local()


def _session() -> requests.Session:
    # One session per thread: keep-alive to the receiver, no state shared across threads.
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


def attempt_send(*, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """POST the body; never raises. Redirects are not followed (they could lead anywhere,
    the safety check included)."""
    started = time.monotonic()
    try:
        response = _session().post(
            url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.Timeout:
        return Attempt(None, _ms(started), error="Timed out")
    except requests.ConnectionError as error:
        return Attempt(None, _ms(started), error=f"Connection failed: {_reason(error)}"[:300])
    except requests.RequestException as error:
        return Attempt(None, _ms(started), error=f"Request failed: {_reason(error)}"[:300])
    return Attempt(
        response.status_code,
        _ms(started),
        response_body=response.text[:RESPONSE_BODY_KEPT],
    )


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _reason(error: BaseException) -> str:
    """The underlying OS error's name (ConnectionRefusedError, gaierror…) under requests'
    and urllib3's wrappers, else the outer error's name."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and type(current).__module__ in ("builtins", "socket"):
            return type(current).__name__
        reason = getattr(current, "reason", None)
        pending += [reason if isinstance(reason, BaseException) else None]
        pending += [current.__cause__, current.__context__, *current.args[:1]]
        pending = [item if isinstance(item, BaseException) else None for item in pending]
    return type(error).__name__


# --- Outcomes ------------------------------------------------------------------------------


def retry_delay_seconds(*, attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: WEBHOOK_RETRY_BASE_SECONDS · 2^(attempts − 1), at most
    WEBHOOK_RETRY_MAX_SECONDS, then a random 75–125 % of it, so that deliveries that failed
    together do not all come back at the same second."""
    rng = rng or random
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** min(max(attempts - 1, 0), 30)
    return min(base, settings.WEBHOOK_RETRY_MAX_SECONDS) * rng.uniform(0.75, 1.25)


def _attempt_apply(delivery: Delivery, attempt: Attempt, *, now: datetime) -> None:
    """The delivery after one attempt (written in bulk by the caller)."""
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or now
    delivery.last_attempt_at = now
    delivery.response_code = attempt.response_code
    delivery.duration_ms = attempt.duration_ms
    delivery.response_body = attempt.response_body
    delivery.error = attempt.error
    delivery.locked_until = None
    if attempt.is_delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif attempt.is_gone or (
        now - delivery.first_attempt_at >= timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)
    ):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(
            seconds=retry_delay_seconds(attempts=delivery.attempts)
        )


# What an attempt writes to its delivery, with each column's SQL type for the VALUES list of
# _attempts_write (a column of NULLs would otherwise be text).
ATTEMPT_TYPES = {
    "attempts": "integer",
    "first_attempt_at": "timestamptz",
    "last_attempt_at": "timestamptz",
    "response_code": "integer",
    "duration_ms": "integer",
    "response_body": "text",
    "error": "text",
    "locked_until": "timestamptz",
    "status": "text",
    "delivered_at": "timestamptz",
    "next_attempt_at": "timestamptz",
}
ATTEMPT_FIELDS = list(ATTEMPT_TYPES)


def _attempts_write(deliveries: list[Delivery]) -> None:
    """Write the deliveries' ATTEMPT_FIELDS. PostgreSQL: one UPDATE … FROM (VALUES …) per
    batch (Django's bulk_update builds a CASE per field and row, and took more of a sender's
    time than the requests themselves); elsewhere bulk_update."""
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_update(deliveries, ATTEMPT_FIELDS, batch_size=500)
        return
    from psycopg2.extras import execute_values

    table = Delivery._meta.db_table
    assignments = ", ".join(f"{name} = v.{name}" for name in ATTEMPT_FIELDS)
    template = "(%s, " + ", ".join(f"%s::{ATTEMPT_TYPES[name]}" for name in ATTEMPT_FIELDS) + ")"
    rows = [
        (delivery.pk, *(getattr(delivery, name) for name in ATTEMPT_FIELDS))
        for delivery in deliveries
    ]
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"UPDATE {table} AS d SET {assignments} "
            f"FROM (VALUES %s) AS v (id, {', '.join(ATTEMPT_FIELDS)}) WHERE d.id = v.id",
            rows,
            template=template,
            page_size=500,
        )


def _endpoint_outcome(*, endpoint: WebhookEndpoint, attempts: list[Attempt], now: datetime) -> None:
    """A success clears the endpoint's failing streak; 410 disables it; failures start a
    streak, and a streak of a day disables it."""
    if any(attempt.is_gone for attempt in attempts):
        endpoint_disable(
            endpoint=endpoint, reason="The receiver answered 410 Gone: it wants no more events."
        )
        return
    if any(attempt.is_delivered for attempt in attempts):
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
            failing_since=None
        )
        return
    if not attempts:
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    failing_since = (
        WebhookEndpoint.objects.filter(pk=endpoint.pk)
        .values_list("failing_since", flat=True)
        .first()
    )
    if failing_since and now - failing_since >= timedelta(
        seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS
    ):
        endpoint_disable(
            endpoint=endpoint,
            reason=f"Every delivery failed since {_iso(failing_since)} (last: "
            f"{_attempt_text(attempts[-1])}).",
        )


def _attempt_text(attempt: Attempt) -> str:
    return f"HTTP {attempt.response_code}" if attempt.response_code else attempt.error


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Disable an active endpoint, fail its pending deliveries (they can be replayed once it
    is enabled again) and email CS Ops. False when it was disabled already."""
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_reason=reason[:300], sender_lease_until=None
        )
        if not disabled:
            return False
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED,
            next_attempt_at=None,
            locked_until=None,
            error="The endpoint was disabled.",
        )
        transaction.on_commit(lambda: _cs_ops_email(endpoint=endpoint, reason=reason))
    logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return True


def _cs_ops_email(*, endpoint: WebhookEndpoint, reason: str) -> None:
    recipients = sorted(
        get_user_model()
        .objects.filter(groups__name=roles.CS_OPS, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return
    send_mail(
        subject=f"Healthscore: webhook endpoint {endpoint.pk} disabled",
        message=(
            f"The endpoint {endpoint.url} ({endpoint.get_format_display()}) was disabled.\n\n"
            f"{reason}\n\nIts pending deliveries are marked failed. Enable it again in the "
            "admin, then replay the failed deliveries "
            f"(POST /api/v1/webhooks/{endpoint.pk}/deliveries/replay/ with a date)."
        ),
        from_email=None,
        recipient_list=recipients,
    )


# --- The sender ----------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def _deliveries_claim(*, endpoint_id: int, limit: int) -> list[Delivery]:
    """Claim up to `limit` due deliveries of the endpoint, oldest first: rows another sender
    has locked are skipped, and the claimed ones are ours until `locked_until`."""
    now = timezone.now()
    with transaction.atomic():
        deliveries = list(
            selectors.deliveries_due(endpoint_id=endpoint_id, now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            locked_until=now + _lease()
        )
    return deliveries


def deliveries_attempt(*, endpoint: WebhookEndpoint, deliveries: list[Delivery]) -> list[Attempt]:
    """One attempt at each claimed delivery, at most WEBHOOK_ENDPOINT_CONCURRENCY at once;
    records the outcomes and what they mean for the endpoint. The URL is checked again first
    (DNS can change after the endpoint was saved): an unsafe one fails the attempt."""
    now = timezone.now()
    try:
        webhook_url_check(endpoint.url)
        unsafe = ""
    except UnsafeUrl as error:
        unsafe = "; ".join(error.message_dict["url"])[:300]
    if unsafe:
        attempts = [Attempt(None, 0, error=f"Refused: {unsafe}") for _ in deliveries]
    else:
        signers = endpoint_signers(endpoint=endpoint, now=now)
        requests_ = [
            (
                body := delivery_body(delivery=delivery, endpoint=endpoint),
                delivery_headers(
                    signers=signers, webhook_id=delivery.webhook_id, body=body, now=now
                ),
            )
            for delivery in deliveries
        ]
        workers = max(1, min(settings.WEBHOOK_ENDPOINT_CONCURRENCY, len(deliveries)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            attempts = list(
                pool.map(
                    lambda request: attempt_send(
                        url=endpoint.url, body=request[0], headers=request[1]
                    ),
                    requests_,
                )
            )
    done_at = timezone.now()
    for delivery, attempt in zip(deliveries, attempts, strict=True):
        _attempt_apply(delivery, attempt, now=done_at)
        logger.info(
            "Webhook delivery %s to endpoint %s: %s in %d ms (attempt %d)",
            delivery.webhook_id,
            endpoint.pk,
            _attempt_text(attempt),
            attempt.duration_ms,
            delivery.attempts,
        )
    # One transaction: whoever sees a delivery failed by a 410 sees its endpoint disabled.
    with transaction.atomic():
        _attempts_write(deliveries)
        _endpoint_outcome(endpoint=endpoint, attempts=attempts, now=done_at)
    return attempts


def endpoint_deliveries_send(*, endpoint_id: int) -> SendSummary:
    """Send the endpoint's due deliveries, batch after batch, for at most
    WEBHOOK_SENDER_BUDGET_SECONDS. Returns whether deliveries are still due (the caller
    sends again) and when the next retry is; `claimed` is False when another sender holds
    the endpoint (it sends them) or the endpoint is disabled."""
    now = timezone.now()
    claimed = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True)
        .filter(Q(sender_lease_until__isnull=True) | Q(sender_lease_until__lt=now))
        .update(sender_lease_until=now + _lease())
    )
    if not claimed:
        return SendSummary(claimed=False)
    sent = delivered = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < settings.WEBHOOK_SENDER_BUDGET_SECONDS:
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
            if endpoint is None:
                break
            batch = _deliveries_claim(endpoint_id=endpoint_id, limit=settings.WEBHOOK_BATCH_SIZE)
            if not batch:
                break
            attempts = deliveries_attempt(endpoint=endpoint, deliveries=batch)
            sent += len(attempts)
            delivered += sum(attempt.is_delivered for attempt in attempts)
            WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
                sender_lease_until=timezone.now() + _lease()
            )
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(sender_lease_until=None)
    # Checked after letting go: deliveries made while we sent, whose own sender found the
    # endpoint busy, are ours to hand on.
    now = timezone.now()
    has_due = selectors.deliveries_due(endpoint_id=endpoint_id, now=now).exists()
    return SendSummary(
        claimed=True,
        sent=sent,
        delivered=delivered,
        has_due=has_due,
        next_retry_in=None if has_due else selectors.next_retry_in_seconds(endpoint_id=endpoint_id),
    )


def delivery_send_now(*, delivery: Delivery) -> Delivery:
    """Send one delivery in this process (the endpoint's test ping), whatever the endpoint's
    sender is doing. Returns it with the attempt recorded."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(locked_until=now + _lease())
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery.pk)
    deliveries_attempt(endpoint=delivery.endpoint, deliveries=[delivery])
    return delivery
