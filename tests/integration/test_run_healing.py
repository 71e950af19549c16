"""Issue 13, items 2 and 3, on real PostgreSQL, Redis and Celery worker processes: a run
whose worker is SIGKILLed mid-run is healed by the stall-healing beat task with no manual
command, and a chunk whose database backend is terminated mid-COPY is retried."""

import time

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from scorecards.models import ScoreRun, ScoreSnapshot
from scorecards.services import partitions, scoring
from scorecards.tasks import score_runs_heal
from tests.integration.conftest import wait_until
from tests.integration.test_recompute_worker import portfolio_create

pytestmark = pytest.mark.integration
VALUES = "scorecards_measurevalue"


def heal_until_finished(run: ScoreRun, *, seconds: float) -> int:
    """Call the beat task as beat would (here every half second rather than every minute)
    until the run finished; returns how many times it resumed the run."""
    healed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == ScoreRun.Status.FINISHED:
            return healed
        healed += score_runs_heal().count(run.pk)
        time.sleep(0.5)
    pytest.fail(f"run {run.pk} did not finish: {run.chunks_done}/{run.chunks_total} chunks")


def test_worker_killed_mid_run_is_healed_without_a_command(celery_worker_process, settings):
    settings.SCORE_RUN_STALL_SECONDS = 3  # a chunk here takes well under a second
    today = timezone.localdate()
    portfolio_create(accounts=600, as_of=today)
    worker = celery_worker_process.start()

    run = scoring.score_run_start(as_of=today, chunk_size=20)  # 30 chunks
    wait_until(
        lambda: ScoreRun.objects.get(pk=run.pk).chunks_done >= 3,
        seconds=90,
        message="the run did not get going",
    )
    celery_worker_process.kill(worker)
    run.refresh_from_db()
    assert run.status == ScoreRun.Status.RUNNING
    assert run.chunks_done < run.chunks_total  # killed mid-run, not after

    # A new worker takes what is still queued; the killed worker's unacknowledged chunks
    # would wait for the visibility timeout (15 minutes): the healing sends them again.
    celery_worker_process.start()
    healed = heal_until_finished(run, seconds=120)

    run.refresh_from_db()
    assert healed >= 1
    assert run.chunks.exclude(status="done").count() == 0
    assert (run.status, run.accounts_scored, run.chunks_done) == ("finished", 600, 30)
    assert ScoreSnapshot.objects.filter(as_of=today).count() == 600


def _test_database_connection():
    database = connection.settings_dict
    return psycopg2.connect(
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"] or None,
        host=database["HOST"],
        port=database["PORT"] or 5432,
    )


def test_backend_terminated_during_copy_is_retried(celery_worker_process):
    today = timezone.localdate()
    portfolio_create(accounts=40, as_of=today)
    # The run first (its start makes sure the month's partitions exist, which reads the
    # table's partition tree: that would wait on the lock below), the worker after the lock.
    run = scoring.score_run_start(as_of=today)  # one chunk
    locker = _test_database_connection()
    try:
        # Hold the value table's month partitions so that the chunk's COPY of the latest
        # values waits on the lock, where it can be caught and its backend terminated. (Not
        # the default partition: the chunk first checks that it holds no straggler, and that
        # read is not the COPY this test catches.)
        months = [p.name for p in partitions.partitions_list(VALUES) if not p.is_default]
        with locker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {', '.join(months)} IN ACCESS EXCLUSIVE MODE")
        celery_worker_process.start()

        def copy_waiting() -> list[int]:
            with locker.cursor() as cursor:
                # The statistics views keep one snapshot per transaction: take a new one.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE 'COPY (SELECT%%' AND wait_event_type = 'Lock'"
                )
                return [pid for (pid,) in cursor.fetchall()]

        wait_until(lambda: bool(copy_waiting()), seconds=60, message="no COPY waited")
        (pid,) = copy_waiting()
        with locker.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        locker.rollback()  # releases the lock: the retry reads on a new connection
    finally:
        locker.close()

    wait_until(
        lambda: ScoreRun.objects.get(pk=run.pk).status != ScoreRun.Status.RUNNING,
        seconds=90,
        message="the run did not end",
    )
    run.refresh_from_db()
    chunk = run.chunks.get()
    assert (run.status, run.accounts_scored) == ("finished", 40)
    assert (chunk.status, chunk.attempts) == ("done", 2)
    assert ScoreSnapshot.objects.filter(as_of=today).count() == 40
