"""Fan-out: one Delivery per event and endpoint that wants it.

Safe to run twice, and run concurrently: the (event, endpoint) unique constraint makes a second
fan-out of the same event insert nothing, and `fanned_out_at` tells the sweep which events
still need one.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from events.choices import (
    PEOPLE_FORMATS,
    RISK_TYPES,
    SEVERITY_RANK,
    DeliveryStatus,
    EventType,
    Severity,
)
from events.models import Delivery, Event, WebhookEndpoint

INSERT_BATCH = 2000
SINGLE = "single"
DIGEST = "digest"


def endpoint_accepts(*, endpoint: WebhookEndpoint, event: Event, event_type: str = "") -> bool:
    """The endpoint's filters: its event types (empty: all), and for events about an account
    its segments and owners (empty: all); an event with a severity (a risk) below the
    endpoint's min_severity is left out. Events about no account (a finished run, a published
    scorecard) pass the segment and owner filters."""
    event_type = event_type or event.event_type
    if event_type == EventType.PING:
        return False
    if endpoint.event_types and event_type not in endpoint.event_types:
        return False
    if event.account_id is not None:
        if endpoint.segments and event.segment not in endpoint.segments:
            return False
        if endpoint.owners and event.owner_id not in endpoint.owners:
            return False
    return not (
        endpoint.min_severity
        and event.severity
        and SEVERITY_RANK[event.severity] < SEVERITY_RANK[endpoint.min_severity]
    )


def is_digest_anchor(event: Event) -> bool:
    """A full (nightly) run's `score_run.finished`: Slack and Teams get the run's digest
    in its place, and not the run's band moves one by one."""
    return (
        event.event_type == EventType.SCORE_RUN_FINISHED
        and event.score_run_id is not None
        and event.is_in_digest
    )


def delivery_kind(
    *, endpoint: WebhookEndpoint, event: Event, digest_sent: bool = False
) -> str | None:
    """SINGLE (the event itself), DIGEST (the digest of its run) or None (nothing) for this
    endpoint. Slack and Teams, which people read, get one digest per nightly run when they
    follow band moves or finished runs; a band move of such a run is in that digest only.
    Risks of a nightly run's evaluation are counted in that digest, except critical ones,
    which go one by one, as do risks recorded after the digest was sent (`digest_sent`: a
    slow evaluation loses none). Other risks go one by one. An endpoint gets only the events
    that happened after it was made (a fan-out the sweep makes up later included)."""
    if endpoint.created_at is not None and event.created_at < endpoint.created_at:
        return None
    if endpoint.format in PEOPLE_FORMATS:
        if event.is_in_digest and event.event_type == EventType.SCORE_BAND_CHANGED:
            return None
        if (
            event.is_in_digest
            and event.event_type in RISK_TYPES
            and event.severity != Severity.CRITICAL
            and not digest_sent
        ):
            return None  # counted in the run's digest, unless that went out already
        if is_digest_anchor(event):
            follows = endpoint_accepts(
                endpoint=endpoint, event=event, event_type=EventType.SCORE_BAND_CHANGED
            ) or endpoint_accepts(endpoint=endpoint, event=event)
            return DIGEST if follows else None
    return SINGLE if endpoint_accepts(endpoint=endpoint, event=event) else None


@dataclass(frozen=True)
class FanOut:
    events: int
    deliveries: int
    endpoint_ids: tuple[int, ...]


def events_fan_out(*, event_ids: list[int]) -> FanOut:
    """Make the deliveries of these events (those not fanned out yet) to every active
    endpoint that wants them, mark the events fanned out, and on commit start a sender for
    each endpoint that got something. Returns what it did."""
    from events import tasks

    now = timezone.now()
    with transaction.atomic():
        # Locked, skipping rows another fan-out holds: that one makes their deliveries.
        events = list(
            Event.objects.filter(pk__in=event_ids, fanned_out_at__isnull=True)
            .select_for_update(skip_locked=True)
            .defer("data")
            .order_by("pk")
        )
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        digests_sent = _digests_sent(events)
        # A digest waits a little, so that the run's risk evaluation can be counted in it.
        digest_at = now + timedelta(seconds=settings.WEBHOOK_DIGEST_DELAY_SECONDS)
        deliveries = []
        for event in events:
            for endpoint in endpoints:
                kind = delivery_kind(
                    endpoint=endpoint,
                    event=event,
                    digest_sent=(endpoint.pk, event.score_run_id) in digests_sent,
                )
                if kind is not None:
                    deliveries.append(
                        Delivery(
                            endpoint=endpoint,
                            event=event,
                            is_digest=kind == DIGEST,
                            next_attempt_at=digest_at if kind == DIGEST else now,
                            created_at=now,
                        )
                    )
        Delivery.objects.bulk_create(deliveries, batch_size=INSERT_BATCH, ignore_conflicts=True)
        Event.objects.filter(pk__in=[event.pk for event in events]).update(fanned_out_at=now)
        endpoint_ids = tuple(sorted({delivery.endpoint_id for delivery in deliveries}))
        if endpoint_ids:
            transaction.on_commit(
                lambda: [tasks.deliveries_send.delay(pk) for pk in endpoint_ids]  # noqa: B023
            )
    return FanOut(events=len(events), deliveries=len(deliveries), endpoint_ids=endpoint_ids)


def _digests_sent(events: list[Event]) -> set[tuple[int, int]]:
    """(endpoint id, score run id) of the digests of these events' runs that were sent
    already (attempted at least once)."""
    run_ids = {e.score_run_id for e in events if e.is_in_digest and e.event_type in RISK_TYPES}
    if not run_ids:
        return set()
    return set(
        Delivery.objects.filter(is_digest=True, event__score_run_id__in=run_ids)
        .filter(Q(attempts__gt=0) | ~Q(status=DeliveryStatus.PENDING))
        .values_list("endpoint_id", "event__score_run_id")
    )
