"""Celery entry points for usage metrics (STYLE.md §5)."""

from celery import shared_task
from django.utils import timezone

from metrics import services


@shared_task
def metric_value_partitions_ensure() -> list[str]:
    """Keep this month's and the next months' partitions ready (daily, by beat)."""
    return services.metric_value_partitions_ahead(today=timezone.localdate())
