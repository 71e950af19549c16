"""Celery entry points for risks. Each takes ids or ISO dates and calls a service (STYLE.md §5)."""

from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from risk import notifications, services
from scorecards.models import ScoreRun
from scorecards.services import scoring


# Named in settings.SCORE_RUN_FINISHED_TASKS: sent with the run's id when a score run
# finishes. Safe to run twice: raising a risk again updates the open one.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def risks_evaluate_after_run(run_id: int) -> None:
    services.risks_evaluate_for_run(run=ScoreRun.objects.get(pk=run_id))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def risks_evaluate(as_of: str) -> None:
    services.risks_evaluate(as_of=date.fromisoformat(as_of))


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def sponsor_measures_compute(as_of: str) -> None:
    services.sponsor_measures_compute(as_of=date.fromisoformat(as_of))


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def nightly() -> None:
    """The beat entry: today's sponsor measures from contacts and touchpoints, then a full
    recompute; risks follow when the run finishes (SCORE_RUN_FINISHED_TASKS). Safe to run
    twice: the measures are upserted and a second run replaces the day's snapshots."""
    today = timezone.localdate()
    services.sponsor_measures_compute(as_of=today)
    scoring.score_run_start(as_of=today)


# Safe to run twice: every risk's day is claimed before its email goes out, so a risk is in
# at most one email a day and a retry sends only the emails that failed. A mail server that
# refuses or drops us raises an OSError (smtplib's errors are OSErrors): retried as well,
# after 30 s and then doubling, so that a mail server down for a few minutes loses nothing.
@shared_task(autoretry_for=(OperationalError, OSError), retry_backoff=30, max_retries=5)
def risks_notify(risk_ids: list[int]) -> int:
    return notifications.risks_notify(risk_ids=risk_ids, today=timezone.localdate())
