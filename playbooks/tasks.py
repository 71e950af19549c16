"""Celery entry points for playbooks. Each takes ISO dates and calls a service (STYLE.md §5)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from playbooks import services


# Beat sends it hourly ("Record overdue tasks"). Safe to run twice: each task is claimed
# with a conditional update before its event is recorded.
@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def tasks_overdue_record() -> int:
    return services.tasks_overdue_record(today=timezone.localdate())
