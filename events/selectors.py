"""Reads for outbound events: deliveries due, an endpoint's log, a run's digest."""

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from events.choices import RISK_TYPES, SEVERITY_RANK, DeliveryStatus, EventType, Severity
from events.formats import Digest, Move
from events.models import Delivery, Event, WebhookEndpoint

DIGEST_LARGEST = 10


def deliveries_of_endpoint(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    """An endpoint's delivery log, newest first, with each delivery's event type."""
    return (
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .only(
            "uid",
            "endpoint_id",
            "is_digest",
            "status",
            "attempts",
            "next_attempt_at",
            "response_code",
            "duration_ms",
            "response_body",
            "error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
            "event__uid",
            "event__event_type",
        )
        .order_by("-created_at", "-id")
    )


def deliveries_due(*, endpoint_id: int, now) -> QuerySet[Delivery]:
    """Pending deliveries of the endpoint whose time has come and that no live sender holds
    (a sender killed mid-request lets go when its lease passes)."""
    return Delivery.objects.filter(
        endpoint_id=endpoint_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))


def endpoints_with_due_deliveries(*, now) -> list[int]:
    """Active endpoints with a delivery due and no live sender."""
    return sorted(
        set(
            Delivery.objects.filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                endpoint__is_active=True,
            )
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .filter(
                Q(endpoint__sender_lease_until__isnull=True)
                | Q(endpoint__sender_lease_until__lt=now)
            )
            .values_list("endpoint_id", flat=True)
            .distinct()
        )
    )


def events_not_fanned_out(*, older_than) -> list[int]:
    return list(
        Event.objects.filter(fanned_out_at__isnull=True, created_at__lte=older_than)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def next_retry_in_seconds(*, endpoint_id: int) -> float | None:
    """Seconds until the endpoint's next pending delivery is due (None: nothing pending)."""
    next_at = (
        Delivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_at is None:
        return None
    return max(0.0, (next_at - timezone.now()).total_seconds())


def score_run_digest(*, event: Event, endpoint: WebhookEndpoint) -> Digest:
    """The digest of the run behind a `score_run.finished` event, as `endpoint` sees it
    (its segment, owner and severity filters): accounts moved to each band, lowest band
    first (bands are ordered by the lowest score that reached them), the ten largest moves
    in points (then by account name), and the non-critical risk events of the run's
    evaluation recorded so far."""
    moves_qs = Event.objects.filter(
        score_run_id=event.score_run_id,
        event_type=EventType.SCORE_BAND_CHANGED,
        is_in_digest=True,
    )
    if endpoint.segments:
        moves_qs = moves_qs.filter(segment__in=endpoint.segments)
    if endpoint.owners:
        moves_qs = moves_qs.filter(owner_id__in=endpoint.owners)
    moves = [
        Move(
            account_name=(data.get("account") or {}).get("name", ""),
            from_band=data["from"]["band"],
            to_band=data["to"]["band"],
            from_overall=data["from"].get("overall"),
            to_overall=data["to"].get("overall"),
            url=data.get("url", ""),
        )
        for data in moves_qs.values_list("data", flat=True).iterator(chunk_size=2000)
    ]
    counts: dict[str, int] = {}
    lowest: dict[str, float] = {}
    for move in moves:
        counts[move.to_band] = counts.get(move.to_band, 0) + 1
        overall = move.to_overall if move.to_overall is not None else 101.0
        lowest[move.to_band] = min(lowest.get(move.to_band, 101.0), overall)
    moved_to = sorted(counts.items(), key=lambda item: (lowest[item[0]], item[0]))
    largest = sorted(moves, key=lambda move: (-abs(move.points), move.account_name))
    risks = Event.objects.filter(
        score_run_id=event.score_run_id, is_in_digest=True, event_type__in=RISK_TYPES
    ).exclude(severity=Severity.CRITICAL)
    if endpoint.segments:
        risks = risks.filter(segment__in=endpoint.segments)
    if endpoint.owners:
        risks = risks.filter(owner_id__in=endpoint.owners)
    if endpoint.min_severity:
        risks = risks.filter(
            severity__in=[
                s
                for s, rank in SEVERITY_RANK.items()
                if rank >= SEVERITY_RANK[endpoint.min_severity]
            ]
        )
    opened: dict[str, int] = {}
    escalated = resolved = 0
    for event_type, label in risks.values_list("event_type", "data__risk__label"):
        if event_type == EventType.RISK_OPENED:
            opened[label] = opened.get(label, 0) + 1
        elif event_type == EventType.RISK_ESCALATED:
            escalated += 1
        else:
            resolved += 1
    run = event.data.get("run") or {}
    return Digest(
        risks_opened=sorted(opened.items(), key=lambda item: (-item[1], item[0])),
        risks_escalated=escalated,
        risks_resolved=resolved,
        as_of=str(run.get("as_of", "")),
        accounts_moved=len(moves),
        moved_to=moved_to,
        largest=largest[:DIGEST_LARGEST],
        url=f"{settings.SITE_URL.rstrip('/')}/portfolio/",
    )
