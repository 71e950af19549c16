"""Celery entry points for outbound events. Each takes ids and calls a service (STYLE.md §5)."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from events import services


# Safe to run twice: the (event, endpoint) unique constraint makes no second delivery.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def events_fan_out(event_ids: list[int]) -> int:
    return services.events_fan_out(event_ids=event_ids).deliveries


# Safe to run twice and side by side: one sender per endpoint holds its lease, the others
# return at once; each delivery is claimed before its request.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def deliveries_send(endpoint_id: int) -> int:
    summary = services.endpoint_deliveries_send(endpoint_id=endpoint_id)
    if summary.has_due:
        deliveries_send.delay(endpoint_id)  # the budget ran out: hand over, others go first
    elif (
        not deliveries_send.app.conf.task_always_eager  # inline, a countdown would not wait
        and summary.next_retry_in is not None
        and summary.next_retry_in <= settings.WEBHOOK_SWEEP_SECONDS
    ):
        # A retry due before the next sweep: come back for it. Later ones wait for the sweep,
        # so no long countdown sits in a worker's memory.
        deliveries_send.apply_async((endpoint_id,), countdown=summary.next_retry_in)
    return summary.sent


# The beat schedule "Outbound events sweep" sends it every WEBHOOK_SWEEP_SECONDS.
@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def deliveries_sweep() -> int:
    sweep = services.deliveries_sweep()
    for endpoint_id in sweep.endpoint_ids:
        deliveries_send.delay(endpoint_id)
    return sweep.events_fanned_out
