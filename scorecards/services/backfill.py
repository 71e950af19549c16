"""Runs of several days handed to the Celery workers (`recompute_scores` with REDIS_URL).

Every chunk of every day is a task, so all workers on all machines take part. Days are sent in
waves of seven: a day's trends read the snapshots of 7, 30 and 90 days before it, so the days
of one wave never need each other, and each wave starts once the days before it have finished.
"""

import time
from collections.abc import Callable
from datetime import timedelta

from django.db.models import F, Sum

from scorecards.models import ScoreRun, ScoreRunChunk
from scorecards.selectors import TREND_WINDOWS

WAVE_DAYS = min(TREND_WINDOWS)
POLL_SECONDS = 0.5
ENDED = (ScoreRun.Status.FINISHED, ScoreRun.Status.FAILED)


class RunsFailed(Exception):
    """A run failed on the workers; the days after it were not sent."""

    def __init__(self, runs: list[ScoreRun]) -> None:
        self.runs = runs
        super().__init__(", ".join(f"run {run.pk} ({run.as_of})" for run in runs) + " failed")


def score_run_waves(runs: list[ScoreRun]) -> list[list[ScoreRun]]:
    """Oldest first, in groups whose days lie less than WAVE_DAYS apart from the group's first."""
    waves: list[list[ScoreRun]] = []
    for run in sorted(runs, key=lambda r: (r.as_of, r.pk)):
        if waves and run.as_of < waves[-1][0].as_of + timedelta(days=WAVE_DAYS):
            waves[-1].append(run)
        else:
            waves.append([run])
    return waves


def score_runs_on_workers(
    *,
    runs: list[ScoreRun],
    progress: Callable[[int], None] | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> list[ScoreRun]:
    """Send each wave's runs to the workers and wait for them; `progress(accounts)` is called
    with the accounts finished since its last call. Raises RunsFailed when a run fails."""
    from scorecards import tasks

    reported = 0
    ids = [run.pk for run in runs]
    for wave in score_run_waves(runs):
        for run in wave:
            if run.status == ScoreRun.Status.PENDING:
                tasks.score_run_execute.delay(run.pk)
            elif run.status != ScoreRun.Status.FINISHED:
                tasks.score_run_resume.delay(run.pk)
        wave_ids = [run.pk for run in wave]
        while True:
            statuses = list(
                ScoreRun.objects.filter(pk__in=wave_ids).values_list("status", flat=True)
            )
            done = _accounts_done(ids)
            if progress is not None and done > reported:
                progress(done - reported)
            reported = done
            if all(status in ENDED for status in statuses):
                break
            time.sleep(poll_seconds)
        failed = list(ScoreRun.objects.filter(pk__in=wave_ids, status=ScoreRun.Status.FAILED))
        if failed:
            raise RunsFailed(failed)
    return list(ScoreRun.objects.filter(pk__in=ids).order_by("as_of", "pk"))


def _accounts_done(run_ids: list[int]) -> int:
    total = (
        ScoreRunChunk.objects.filter(run_id__in=run_ids, status=ScoreRunChunk.Status.DONE)
        .annotate(n=F("accounts_scored") + F("accounts_not_scored") + F("accounts_failed"))
        .aggregate(total=Sum("n"))["total"]
    )
    return total or 0
