"""Backtest-and-optimizer runs: what the backtest page shows, computed in the request for a
small portfolio or by a worker (a BacktestRun row with its progress) for a large one."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from scorecards.learning import backtest, maths
from scorecards.models import BacktestRun, Scorecard


def scorecard_backtest_and_suggest(
    *,
    scorecard: Scorecard,
    horizon_days: int = backtest.DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
    progress: backtest.Progress = backtest.no_progress,
) -> dict:
    """What the backtest page and a backtest run show: scorecard_optimize's report, or, with
    too few outcomes for a suggestion, the plain backtest with ``suggested`` None and the
    reason in ``message``. Reads only."""
    options = {
        "scorecard": scorecard,
        "horizon_days": horizon_days,
        "downgraded_is_churned": downgraded_is_churned,
    }
    try:
        return {**backtest.scorecard_optimize(**options, progress=progress), "message": ""}
    except maths.InsufficientOutcomes as problem:
        return {
            **backtest.scorecard_backtest(**options),
            "suggested": None,
            "message": str(problem),
        }


# --- Runs in a worker ----------------------------------------------------------------------------
def backtest_run_start(
    *,
    scorecard: Scorecard,
    user: AbstractBaseUser | None = None,
    horizon_days: int = backtest.DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
) -> BacktestRun:
    """Create a pending backtest-and-optimizer run and hand it to a worker once the transaction
    commits (large portfolios take a while; the run's row shows the progress)."""
    from scorecards.learning import tasks as learning_tasks

    run = BacktestRun.objects.create(
        scorecard=scorecard,
        horizon_days=horizon_days,
        is_downgraded_churned=downgraded_is_churned,
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    transaction.on_commit(lambda: learning_tasks.backtest_run_execute.delay(run.pk))
    return run


def backtest_run_execute(*, run: BacktestRun) -> BacktestRun:
    """Run the optimizer for a pending run, recording progress on the row, and store its
    report (``result``). With too few outcomes for a suggestion the result is the plain
    backtest with ``suggested`` None and the reason in ``message``. Safe to call twice: only
    the call that moves the run from pending to running does the work."""
    claimed = BacktestRun.objects.filter(pk=run.pk, status=BacktestRun.Status.PENDING).update(
        status=BacktestRun.Status.RUNNING, started_at=timezone.now(), progress=0
    )
    if not claimed:  # another worker got there first, or it already ran
        run.refresh_from_db()
        return run

    def progress(fraction: float, stage: str) -> None:
        BacktestRun.objects.filter(pk=run.pk).update(
            progress=min(100, round(fraction * 100)), stage=stage[:100]
        )

    try:
        result = scorecard_backtest_and_suggest(
            scorecard=run.scorecard,
            horizon_days=run.horizon_days,
            downgraded_is_churned=run.is_downgraded_churned,
            progress=progress,
        )
    except Exception as error:
        BacktestRun.objects.filter(pk=run.pk).update(
            status=BacktestRun.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    BacktestRun.objects.filter(pk=run.pk).update(
        status=BacktestRun.Status.FINISHED,
        progress=100,
        stage="Done",
        result=result,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run
