"""The periodic sweep that makes outbound events at-least-once.

Every WEBHOOK_SWEEP_SECONDS (a beat schedule, "Outbound events sweep"): events left without
deliveries (their fan-out message was lost: a broker down at commit time, a killed worker) are
fanned out, and every active endpoint with deliveries due (retries whose time came, deliveries
of a sender killed mid-request once their lease passed) gets a sender.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from events import selectors
from events.services.fanout import events_fan_out
from events.services.recording import FAN_OUT_BATCH


@dataclass(frozen=True)
class Sweep:
    events_fanned_out: int
    endpoint_ids: tuple[int, ...]


def deliveries_sweep() -> Sweep:
    """Fan out events older than WEBHOOK_FAN_OUT_GRACE_SECONDS that have no deliveries yet,
    and return the endpoints whose due deliveries need a sender (the task starts them)."""
    now = timezone.now()
    stranded = selectors.events_not_fanned_out(
        older_than=now - timedelta(seconds=settings.WEBHOOK_FAN_OUT_GRACE_SECONDS)
    )
    fanned = 0
    for start in range(0, len(stranded), FAN_OUT_BATCH):
        fanned += events_fan_out(event_ids=stranded[start : start + FAN_OUT_BATCH]).events
    return Sweep(
        events_fanned_out=fanned,
        endpoint_ids=tuple(selectors.endpoints_with_due_deliveries(now=timezone.now())),
    )
