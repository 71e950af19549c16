"""Demo renewal outcomes: which renewals of the last 90 days churned, downgraded, renewed or
expanded, drawn from each account's health, and their table rows."""

from datetime import datetime

import numpy as np
import pandas as pd

from accounts.models import RenewalOutcome
from demo.services.accounts import AccountPlan, health_at
from demo.services.rows import iso_dates, timestamp
from demo.services.shape import (
    CHURNED_SHARE,
    DOWNGRADED_SHARE,
    EXPANDED_SHARE,
    OUTCOME_SHARE,
    OUTCOME_WINDOW_DAYS,
)


def outcomes_decide(rng: np.random.Generator, *, plan: AccountPlan, health: np.ndarray) -> None:
    """Renewals in the last 90 days and what happened at them.

    A fixed share of the accounts with a full history renewed 1–90 days before as_of. They are
    ranked by their mean health over the 60 days before the renewal plus some noise (a CSM can
    still save an unhealthy account, and a healthy one can be lost to a budget cut); the lowest
    ranks churn, the next downgrade, the highest expand, the rest renew. Declining accounts
    therefore churn much more often, which is what a backtest should find.
    """
    count, days = plan.count, plan.days
    eligible = np.flatnonzero(~plan.is_onboarding)
    chosen = np.sort(
        rng.choice(eligible, size=min(len(eligible), round(count * OUTCOME_SHARE)), replace=False)
    )
    renewed_ago = rng.integers(1, OUTCOME_WINDOW_DAYS + 1, size=len(chosen))
    renewal_t = days - renewed_ago
    window = renewal_t[:, None] - np.arange(0, 31)[None, :]
    key = health_at(health, chosen[:, None], window).mean(axis=1)
    key = key + rng.normal(0.0, 0.1, size=len(chosen))
    rank = np.argsort(np.argsort(key, kind="stable"), kind="stable")
    n = len(chosen)
    churned_n = round(n * CHURNED_SHARE)
    downgraded_n = round(n * DOWNGRADED_SHARE)
    expanded_n = round(n * EXPANDED_SHARE)
    outcome_of_chosen = np.select(
        [rank < churned_n, rank < churned_n + downgraded_n, rank >= n - expanded_n],
        [
            RenewalOutcome.Outcome.CHURNED.value,
            RenewalOutcome.Outcome.DOWNGRADED.value,
            RenewalOutcome.Outcome.EXPANDED.value,
        ],
        default=RenewalOutcome.Outcome.RENEWED.value,
    ).astype(object)
    factor = np.select(
        [
            outcome_of_chosen == RenewalOutcome.Outcome.CHURNED,
            outcome_of_chosen == RenewalOutcome.Outcome.DOWNGRADED,
            outcome_of_chosen == RenewalOutcome.Outcome.EXPANDED,
        ],
        [0.0, rng.uniform(0.5, 0.9, n), rng.uniform(1.15, 1.8, n)],
        default=rng.uniform(1.0, 1.07, n),  # a renewal with the usual price uplift
    )

    has_outcome = np.zeros(count, dtype=bool)
    has_outcome[chosen] = True
    outcome = np.full(count, "", dtype=object)
    outcome[chosen] = outcome_of_chosen
    outcome_date = np.full(count, np.datetime64("NaT"), dtype="datetime64[D]")
    outcome_date[chosen] = plan.date_of(renewal_t)
    arr_after = plan.arr.copy()
    arr_after[chosen] = np.round(plan.arr[chosen] * factor, -2)
    is_churned = outcome == RenewalOutcome.Outcome.CHURNED
    end_t = np.full(count, days)
    end_t[chosen] = np.where(is_churned[chosen], renewal_t, days)
    # A renewed contract runs another year; a churned account keeps its last renewal date.
    plan.renewal_date[chosen] = np.where(
        is_churned[chosen],
        outcome_date[chosen],
        outcome_date[chosen] + np.timedelta64(365, "D"),
    )
    plan.has_outcome, plan.outcome, plan.outcome_date = has_outcome, outcome, outcome_date
    plan.arr_after, plan.is_churned, plan.end_t = arr_after, is_churned, end_t


def renewal_outcome_rows(
    plan: AccountPlan, account_ids: np.ndarray, *, now: datetime
) -> pd.DataFrame:
    chosen = np.flatnonzero(plan.has_outcome)
    return pd.DataFrame(
        {
            "account_id": account_ids[chosen],
            "renewal_date": iso_dates(plan.outcome_date[chosen]),
            "outcome": plan.outcome[chosen],
            "arr_before": plan.arr[chosen],
            "arr_after": plan.arr_after[chosen],
            "created_at": timestamp(now),
        }
    )
