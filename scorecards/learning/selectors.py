"""Reads of learning from renewals shared by the pages and the API: who may backtest, which
horizons exist, and the backtest runs a worker finished."""

from __future__ import annotations

from accounts import roles
from accounts.models import RenewalOutcome
from scorecards.learning import backtest
from scorecards.models import (
    BacktestRun,
    Scorecard,
)

# Up to this many renewal outcomes in all, the page backtests while it loads (the backtest,
# the optimizer and, once per version, the calibration: three passes over the outcomes);
# above it, a worker does (backtest_run_start) and the page shows the latest finished run and
# the progress of the one under way.
SYNC_OUTCOMES_LIMIT = 5_000
RUNNING = (BacktestRun.Status.PENDING, BacktestRun.Status.RUNNING)
# The horizons CS Ops may choose (days before renewal at which outcomes are scored): at least
# a day, and at most two years, beyond which few accounts have any value history to score.
HORIZON_DAYS_MIN = 1
HORIZON_DAYS_MAX = 730


def may_backtest(user) -> bool:
    """Backtests and draft previews are for CS Ops and CS leaders (and superusers)."""
    return user.is_superuser or bool(roles.user_roles(user) & {roles.CS_OPS, roles.CS_LEADER})


def backtest_scorecards(*, user) -> list[Scorecard]:
    """The scorecards whose backtest page the user may open, by name."""
    if not may_backtest(user):
        return []
    return list(Scorecard.objects.order_by("name"))


def backtest_runs_at(*, scorecard: Scorecard, horizon_days: int):
    """The scorecard's runs at the horizon, latest first. The page shows only plain backtests
    (downgraded counted as renewed), as the runs it starts are."""
    return BacktestRun.objects.filter(
        scorecard=scorecard, horizon_days=horizon_days, is_downgraded_churned=False
    ).order_by("-created_at", "-pk")


def suggestion_of_latest_run(
    *, scorecard: Scorecard, horizon_days: int = backtest.DEFAULT_HORIZON_DAYS
) -> dict | None:
    """For a large portfolio, the report of the latest finished run at the horizon when it
    holds a suggestion for the scorecard's current version, so that opening it as a draft needs
    no new fit; else None (a small portfolio is fitted again in a moment)."""
    if RenewalOutcome.objects.count() <= SYNC_OUTCOMES_LIMIT:
        return None
    run = (
        backtest_runs_at(scorecard=scorecard, horizon_days=horizon_days)
        .filter(status=BacktestRun.Status.FINISHED)
        .first()
    )
    report = run.result if run else None
    if not report or not report.get("suggested"):
        return None
    return report if report.get("scorecard_version") == scorecard.version else None
