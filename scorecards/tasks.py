"""Celery entry points for scoring. Each takes ids and calls a service (STYLE.md §5)."""

import psycopg2
from celery import chord, shared_task
from celery.signals import task_retry
from django.conf import settings
from django.db import OperationalError

from healthscore import metrics
from scorecards.models import ScoreRun, ScoreRunChunk
from scorecards.services import score_events, scoring

# A lost connection is retried wherever it surfaces: Django raises its own OperationalError
# from the cursors it wraps, but psycopg2's reaches us unwrapped from calls Django does not
# wrap (cursor.copy_expert, when PostgreSQL ends the backend mid-COPY).
DATABASE_RETRY_ERRORS = (OperationalError, psycopg2.OperationalError)


@shared_task
def score_run_execute(run_id: int) -> None:
    """Fan a run out: one task per chunk, then the finishing step once all are done."""
    run = ScoreRun.objects.get(pk=run_id)
    if not scoring.score_run_claim(run=run):
        return  # another worker got there first
    _enqueue_chunks(run)


@shared_task
def score_run_resume(run_id: int) -> None:
    """Enqueue again whatever a pending, running or failed run has not finished (after a
    worker or the broker was lost); `recompute_scores --resume` reopens runs the same way."""
    run = ScoreRun.objects.get(pk=run_id)
    if scoring.score_run_reopen(run=run):
        _enqueue_chunks(run)


@shared_task
def score_runs_heal() -> list[int]:
    """The beat entry (every SCORE_RUN_HEAL_EVERY_SECONDS): resume the runs that stalled,
    and record the events of finished runs whose recording task was lost; returns the ids
    of the runs resumed."""
    score_events.score_runs_events_heal(after_seconds=settings.SCORE_RUN_STALL_SECONDS)
    return scoring.score_runs_stalled_heal(stall_seconds=settings.SCORE_RUN_STALL_SECONDS)


# Safe to run twice: the run row is locked and its events recorded once.
@shared_task(acks_late=True, autoretry_for=DATABASE_RETRY_ERRORS, retry_backoff=True, max_retries=5)
def score_run_events_record(run_id: int) -> int:
    return score_events.score_run_events_record(run=ScoreRun(pk=run_id))


def _enqueue_chunks(run: ScoreRun) -> None:
    chunk_ids = scoring.score_run_unfinished_chunk_ids(run=run)
    finish = score_run_finish.si(run.pk)
    if not chunk_ids:
        finish.delay()
        return
    chord((score_chunk.si(chunk_id) for chunk_id in chunk_ids), finish).apply_async(
        link_error=score_run_failed.si(run.pk)
    )


# acks_late: a worker killed mid-chunk leaves the message unacknowledged, so the chunk is
# delivered again; scoring a chunk twice writes the same snapshots.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=DATABASE_RETRY_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def score_chunk(chunk_id: int) -> None:
    chunk = ScoreRunChunk.objects.select_related("run").get(pk=chunk_id)
    scoring.score_chunk_compute(chunk=chunk)


@task_retry.connect(sender=score_chunk)
def _score_chunk_retry_count(**kwargs) -> None:
    metrics.score_chunks_retried.inc()


@shared_task(acks_late=True, autoretry_for=DATABASE_RETRY_ERRORS, retry_backoff=True, max_retries=5)
def score_run_finish(run_id: int) -> None:
    scoring.score_run_finish(run=ScoreRun.objects.get(pk=run_id))


@shared_task
def score_run_failed(run_id: int) -> None:
    scoring.score_run_fail(
        run=ScoreRun.objects.get(pk=run_id), error="A chunk failed after its retries."
    )


@shared_task
def nightly_recompute() -> None:
    """The beat entry: score every active account for today."""
    from django.utils import timezone

    scoring.score_run_start(as_of=timezone.localdate())


@shared_task
def partitions_maintain() -> None:
    """The nightly partition upkeep: months ahead created, stragglers moved out of the default
    partition (PostgreSQL only)."""
    from django.utils import timezone

    from scorecards.services import partitions

    partitions.partitions_maintain(today=timezone.localdate())


@shared_task
def retention_apply() -> None:
    """The nightly retention: old daily snapshots thinned to weekly, old value months dropped."""
    from django.utils import timezone

    from scorecards.services import retention

    retention.retention_apply(today=timezone.localdate())
