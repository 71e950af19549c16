"""Celery entry points for learning from renewals. Each takes ids and calls a service
(STYLE.md §5). Not found by autodiscovery (it looks for ``tasks``): the worker imports this
module through ``CELERY_IMPORTS``, or ``scorecards/tasks.py`` imports it."""

from celery import shared_task

from scorecards.models import BacktestRun, Scorecard
from scorecards.services import backtest


@shared_task
def backtest_run_execute(run_id: int) -> None:
    """Backtest and optimize for one run; safe to run twice (the run is claimed first)."""
    backtest.backtest_run_execute(run=BacktestRun.objects.get(pk=run_id))


@shared_task
def renewal_calibration_fit(scorecard_id: int, horizon_days: int) -> None:
    """Fit the renewal likelihood of a scorecard's current version; safe to run twice (the
    fit of the same outcomes replaces itself)."""
    scorecard = Scorecard.objects.filter(pk=scorecard_id).first()
    if scorecard is not None:
        backtest.renewal_calibration_fit(scorecard=scorecard, horizon_days=horizon_days)
