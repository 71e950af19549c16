"""Celery entry points for learning from renewals. Each takes ids and calls a service
(STYLE.md §5). Not found by autodiscovery (it looks for ``tasks``): the worker imports this
module through ``CELERY_IMPORTS``, or ``scorecards/tasks.py`` imports it."""

from celery import shared_task

from scorecards.models import BacktestRun
from scorecards.services import backtest


@shared_task
def backtest_run_execute(run_id: int) -> None:
    """Backtest and optimize for one run; safe to run twice (the run is claimed first)."""
    backtest.backtest_run_execute(run=BacktestRun.objects.get(pk=run_id))
