"""Celery entry points for learning from renewals. Each takes ids and calls a service
(STYLE.md §5). Not found by autodiscovery (it looks for ``<app>.tasks``): the worker imports
this module through ``CELERY_IMPORTS``, and ``ScorecardsConfig.ready`` imports it too.

The tasks keep the names they had when this module was ``scorecards/tasks_learning.py``:
messages already queued by an earlier release carry those names."""

from celery import shared_task

from scorecards.learning import likelihood, runs
from scorecards.models import BacktestRun, Scorecard


@shared_task(name="scorecards.tasks_learning.backtest_run_execute")
def backtest_run_execute(run_id: int) -> None:
    """Backtest and optimize for one run; safe to run twice (the run is claimed first)."""
    runs.backtest_run_execute(run=BacktestRun.objects.get(pk=run_id))


@shared_task(name="scorecards.tasks_learning.renewal_calibration_fit")
def renewal_calibration_fit(scorecard_id: int, horizon_days: int) -> None:
    """Fit the renewal likelihood of a scorecard's current version; safe to run twice (the
    fit of the same outcomes replaces itself)."""
    scorecard = Scorecard.objects.filter(pk=scorecard_id).first()
    if scorecard is not None:
        likelihood.renewal_calibration_fit(scorecard=scorecard, horizon_days=horizon_days)
