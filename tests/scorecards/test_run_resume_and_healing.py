"""Issue 13, items 2 and 4, in one process: the stall healing picks only stalled runs and
each once; a failed run is finished by `recompute_scores --resume` and by the
`score_run_resume` task alike (one reopening path)."""

import datetime as dt
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from scorecards.models import ScoreRun, ScoreSnapshot
from scorecards.services import scoring
from scorecards.tasks import score_run_resume
from tests.accounts.factories import AccountFactory

DAY = dt.date(2026, 11, 1)


@pytest.fixture
def accounts(db):
    """Five accounts with no values: each is "not scored" by a run."""
    return [AccountFactory() for _ in range(5)]


def failed_run() -> ScoreRun:
    """A run of two chunks whose first chunk was scored before a chunk failed for good."""
    run = scoring.score_run_create(as_of=DAY, chunk_size=3)
    scoring.score_run_claim(run=run)
    scoring.score_chunk_compute(chunk=run.chunks.select_related("run").order_by("pk").first())
    scoring.score_run_fail(run=run, error="A chunk failed after its retries.")
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.chunks_total) == ("failed", 1, 2)
    return run


def test_recompute_scores_resume_finishes_a_failed_run(accounts):
    run = failed_run()
    out = io.StringIO()
    call_command("recompute_scores", "--resume", str(run.pk), "--no-progress", stdout=out)
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.accounts_not_scored, run.errors) == (
        "finished",
        2,
        5,
        [],
    )
    assert ScoreSnapshot.objects.filter(as_of=DAY, run=run).count() == 5
    assert out.getvalue().startswith("Scored 1 day(s) in ")


def test_score_run_resume_task_finishes_a_failed_run(accounts):
    run = failed_run()
    score_run_resume.delay(run.pk)  # inline here
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.accounts_not_scored, run.errors) == (
        "finished",
        2,
        5,
        [],
    )


def test_recompute_scores_resume_of_a_finished_run_says_so(accounts):
    run = scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY))
    with pytest.raises(Exception) as raised:
        call_command("recompute_scores", "--resume", str(run.pk), "--no-progress")
    assert str(raised.value) == f"Run {run.pk} has already finished."


def test_stall_healing_resumes_only_stalled_runs_and_each_once(
    accounts, django_capture_on_commit_callbacks
):
    now = timezone.now()
    stalled = scoring.score_run_create(as_of=DAY)
    scoring.score_run_claim(run=stalled)
    fresh = scoring.score_run_create(as_of=DAY - timedelta(days=1))
    scoring.score_run_claim(run=fresh)
    lost_pending = scoring.score_run_create(as_of=DAY - timedelta(days=2))
    failed = failed_run()
    ScoreRun.objects.filter(pk__in=[stalled.pk, lost_pending.pk, failed.pk]).update(
        progressed_at=now - timedelta(seconds=301)
    )
    ScoreRun.objects.filter(pk=fresh.pk).update(progressed_at=now - timedelta(seconds=299))

    with django_capture_on_commit_callbacks() as resumes:
        healed = scoring.score_runs_stalled_heal(stall_seconds=300, now=now)
    # A second healer at the same moment (the resumes not yet sent) finds nothing stalled.
    with django_capture_on_commit_callbacks() as resumes_again:
        again = scoring.score_runs_stalled_heal(stall_seconds=300, now=now)
    for resume in resumes:
        resume()

    assert sorted(healed) == sorted([stalled.pk, lost_pending.pk])
    assert (again, len(resumes), len(resumes_again)) == ([], 2, 0)
    statuses = dict(ScoreRun.objects.values_list("pk", "status"))
    # Tasks run inline here: the healed runs were resumed to the end.
    assert (statuses[stalled.pk], statuses[lost_pending.pk]) == ("finished", "finished")
    assert (statuses[fresh.pk], statuses[failed.pk]) == ("running", "failed")
