"""Demo usage metrics: active users, licensed seats, logins and reports run per account and
day, with a weekly rhythm (busy Tuesdays, quiet weekends), and the default scorecard's DEAR
measures derived from them (Deployment, Engagement, Adoption), so that a newcomer sees the whole
path from usage to score.

Drawn from a generator of their own (seeded from the portfolio's seed), so the other demo rows
are the same with or without them.
"""

from datetime import timedelta

import numpy as np
import pandas as pd

from demo.services.accounts import AccountPlan, health_at
from demo.services.shape import USAGE_FEED_STOPPED_SHARE
from scorecards import engine
from scorecards.choices import ValueSource
from scorecards.models import Measure

# key, name, unit
DEMO_METRICS = (
    ("active_users", "Active users", "users"),
    ("licensed_seats", "Licensed seats", "seats"),
    ("logins", "Logins", "logins"),
    ("reports_run", "Reports run", "reports"),
)
PER_SEAT = {"metric": "licensed_seats", "aggregate": "last", "window_days": 1}
# Deployment: the share of seats in use; Engagement: logins per seat and day; Adoption: reports
# per seat and day. Each over 28 days, like published adoption scorings.
DERIVED_SOURCES = {
    "deployment": {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "per": PER_SEAT,
    },
    "engagement": {"metric": "logins", "aggregate": "avg", "window_days": 28, "per": PER_SEAT},
    "adoption": {"metric": "reports_run", "aggregate": "avg", "window_days": 28, "per": PER_SEAT},
}
# Monday … Sunday; they add up to 7, so a week's average is the level itself.
WEEKDAY_FACTOR = np.array([1.15, 1.2, 1.2, 1.15, 1.0, 0.65, 0.65])
WINDOW_DAYS = 28
SEED_OFFSET = 17_000_017  # the metrics' generator: seed + this


def metric_values_frame(
    rng: np.random.Generator, *, plan: AccountPlan, health: np.ndarray
) -> pd.DataFrame:
    """Every demo metric value: account (index), metric (key), t (day index), value.

    Accounts with a full history get values from 28 days before it (so the first day's window
    is full); onboarding accounts from their start, ramping up. A few feeds stop, as in the
    pushed usage measures; churned accounts stop at their renewal.
    """
    count, days = plan.count, plan.days
    seats = np.clip(np.round(plan.arr / 1_200), 5, 2_000)
    first = np.where(plan.is_onboarding, plan.start_t, -WINDOW_DAYS)
    has_stopped_feed = rng.random(count) < USAGE_FEED_STOPPED_SHARE
    last = np.where(has_stopped_feed, days - rng.integers(50, 111, size=count), days)
    last = np.minimum(last, plan.end_t)
    lengths = np.clip(last - first + 1, 0, None)
    account = np.repeat(np.arange(count), lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    t = first[account] + (np.arange(len(account)) - offsets)
    h = health_at(health, account, t)
    ramp = np.where(
        plan.is_onboarding[account], np.clip(0.15 + (t - plan.start_t[account]) / 75, 0, 1), 1.0
    )
    maturity = np.where(plan.is_adopting[account], 0.85, 1.0)
    day = plan.date_of(t).astype("datetime64[D]").astype(np.int64)
    rhythm = WEEKDAY_FACTOR[(day + 3) % 7]  # 1970-01-01 was a Thursday
    n = len(account)
    seat = seats[account]
    levels = {
        "active_users": np.clip(ramp * maturity * (0.45 + 0.55 * h) + rng.normal(0, 0.03, n), 0, 1),
        "logins": np.clip(0.05 + 0.8 * h + rng.normal(0, 0.06, n), 0, 1),
        "reports_run": np.clip(ramp * maturity * (0.08 + 0.85 * h) + rng.normal(0, 0.04, n), 0, 1),
    }
    frames = [pd.DataFrame({"account": account, "metric": "licensed_seats", "t": t, "value": seat})]
    for key, level in levels.items():
        value = np.round(seat * level * rhythm)
        frames.append(pd.DataFrame({"account": account, "metric": key, "t": t, "value": value}))
    values = pd.concat(frames, ignore_index=True)
    return values.sort_values(["t", "account", "metric"], kind="stable", ignore_index=True)


def derived_history_frame(
    metric_values: pd.DataFrame, *, plan: AccountPlan, measures: dict[str, Measure]
) -> pd.DataFrame:
    """The derived measures' values on the weekly days the pushed usage used to arrive (as_of
    and every 7 days before), as a recompute of those days stores them: the measure values
    frame of demo.services.values (source computed, the inputs as the comment)."""
    days = plan.days
    weekly = days - 7 * np.arange(days // 7 + 1)
    by_t = metric_values["t"].to_numpy()
    sources = pd.DataFrame(
        [
            (
                measures[key].pk,
                source["metric"],
                source["aggregate"],
                source["window_days"],
                source["per"]["metric"],
                source["per"]["aggregate"],
                source["per"]["window_days"],
                False,
            )
            for key, source in DERIVED_SOURCES.items()
        ],
        columns=engine.SOURCE_COLUMNS,
    )
    by_id = {measures[key].pk: measures[key] for key in DERIVED_SOURCES}
    parts = []
    for t in sorted(weekly.tolist()):
        start, end = np.searchsorted(by_t, [t - WINDOW_DAYS + 1, t + 1])
        window = metric_values.iloc[start:end]
        frame = pd.DataFrame(
            {
                "account_id": window["account"].to_numpy(),
                "metric": window["metric"].to_numpy(),
                "on": pd.to_datetime(plan.date_of(window["t"].to_numpy())),
                "value": window["value"].to_numpy(dtype=float),
            }
        )
        as_of = plan.as_of - timedelta(days=days - t)
        parts.append(engine.derived_values(frame, sources, as_of=as_of))
    derived = pd.concat(parts, ignore_index=True)
    as_of_t = days - (pd.Timestamp(plan.as_of) - derived["as_of"]).dt.days.to_numpy()
    # Two days that rest on the same latest metric date (a stopped feed) are one value, the
    # later day's, as when a recompute replaces it.
    derived = derived.assign(t=as_of_t).drop_duplicates(
        ["account_id", "measure_id", "t"], keep="last"
    )
    frames = []
    for measure_id, rows in derived.groupby("measure_id", sort=True):
        measure = by_id[int(measure_id)]
        scores = engine.measure_scores_from_raw(
            rows["raw_value"].reset_index(drop=True),
            measure.mapping_type,
            measure.lo,
            measure.hi,
            measure.higher_is_better,
            measure.steps,
        )
        frames.append(
            pd.DataFrame(
                {
                    "account": rows["account_id"].to_numpy(),
                    "measure_id": measure.pk,
                    "t": rows["t"].to_numpy(),
                    "raw_value": rows["raw_value"].to_numpy(),
                    "score": engine.round_half_up(scores.to_numpy(), 2),
                    "source": str(ValueSource.COMPUTED),
                    "comment": rows["inputs"].to_numpy(),
                    "is_manual": False,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
