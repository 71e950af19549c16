"""Demo measure values: the default scorecard's measures for every account and day, drawn
from its health path (usage feeds that stop, missing NPS or ROI, stale sentiment)."""

import numpy as np
import pandas as pd

from accounts.models import Contact
from demo.services.accounts import AccountPlan, health_at
from demo.services.contacts import Cast, Touches
from demo.services.shape import (
    NO_SPONSOR_TOUCH_DAYS,
    NPS_MISSING_SHARE,
    ROI_COMMENTS,
    ROI_MISSING_SHARE,
    SEGMENTS,
    SENTIMENT_COMMENTS,
    SENTIMENT_STALE_SHARE,
    TOUCHPOINT_LEAD_DAYS,
    USAGE_FEED_STOPPED_SHARE,
)
from scorecards import engine
from scorecards.choices import ValueSource
from scorecards.models import Measure

# --- Measure values ------------------------------------------------------------------------------


def measure_values_frame(
    rng: np.random.Generator,
    *,
    plan: AccountPlan,
    health: np.ndarray,
    cast: Cast,
    touches: Touches,
    measures: dict[str, Measure],
) -> pd.DataFrame:
    """Every measure value of the history: account (index), measure_id, t, raw_value, score,
    source, comment, is_manual; sorted by account, measure and day.

    Automated measures arrive weekly on as_of's weekday (usage from the product-analytics feed,
    sponsor engagement and coverage computed from the touchpoints and contacts), CSM sentiment
    every 2–6 weeks, NPS about monthly and ROI about quarterly. A few accounts have a stopped
    usage feed, no NPS respondents, no confirmed ROI or a CSM who stopped entering sentiment.
    """
    count, days = plan.count, plan.days
    first_t = plan.first_value_t
    weekly = days - 7 * np.arange(-(-days // 7) + 1)
    week_account = np.repeat(np.arange(count), len(weekly))
    week_t = np.tile(weekly, count)
    is_open = (week_t >= first_t[week_account]) & (week_t <= plan.end_t[week_account])
    week_account, week_t = week_account[is_open], week_t[is_open]

    has_stopped_feed = rng.random(count) < USAGE_FEED_STOPPED_SHARE
    usage_last_t = np.where(has_stopped_feed, days - rng.integers(50, 111, size=count), days)
    has_usage = week_t <= usage_last_t[week_account]
    usage_account, usage_t = week_account[has_usage], week_t[has_usage]
    n_usage = len(usage_account)
    h = health_at(health, usage_account, usage_t)
    ramp = np.where(
        plan.is_onboarding[usage_account],
        np.clip(0.15 + (usage_t - first_t[usage_account]) / 75, 0.0, 1.0),
        1.0,
    )
    maturity = np.where(plan.is_adopting[usage_account], 0.85, 1.0)
    support_load = np.array([SEGMENTS[s].support_load for s in plan.segment])[usage_account]

    frames = [
        _values(
            measures["deployment"],
            usage_account,
            usage_t,
            np.round(
                np.clip(
                    ramp * maturity * (0.45 + 0.55 * h) + rng.normal(0, 0.025, n_usage), 0.01, 1
                ),
                3,
            ),
            ValueSource.API,
        ),
        _values(
            measures["engagement"],
            usage_account,
            usage_t,
            np.round(np.clip(0.05 + 0.8 * h + rng.normal(0, 0.05, n_usage), 0, 1), 3),
            ValueSource.API,
        ),
        _values(
            measures["adoption"],
            usage_account,
            usage_t,
            np.round(
                np.clip(ramp * maturity * (0.08 + 0.85 * h) + rng.normal(0, 0.03, n_usage), 0, 1),
                3,
            ),
            ValueSource.API,
        ),
        _values(
            measures["support"],
            usage_account,
            usage_t,
            rng.poisson(support_load * (0.5 + 12 * (1 - h) ** 2)).astype(float),
            ValueSource.API,
        ),
    ]

    # Relationship measures, computed from the touchpoints and contacts generated above the way
    # risk.services.sponsor_measures computes them: only sponsors and decision makers still at
    # the company on the day count.
    column = week_t + TOUCHPOINT_LEAD_DAYS
    last_touch = np.full(len(week_t), -1)
    for role, last_by_column in touches.last_touch_by_role.items():
        is_there = week_t < cast.role_left_t(role, days)[week_account]
        last_touch = np.maximum(
            last_touch, np.where(is_there, last_by_column[week_account, column], -1)
        )
    days_since = np.where(last_touch >= 0, column - last_touch, NO_SPONSOR_TOUCH_DAYS)
    frames.append(
        _values(
            measures["sponsor_engagement"],
            week_account,
            week_t,
            days_since.astype(float),
            ValueSource.COMPUTED,
        )
    )
    sponsor_left_t = cast.role_left_t(Contact.Role.EXECUTIVE_SPONSOR, days)
    frames.append(
        _values(
            measures["sponsor_coverage"],
            week_account,
            week_t,
            (week_t < sponsor_left_t[week_account]).astype(float),
            ValueSource.COMPUTED,
        )
    )

    nps_account, nps_t = _irregular_days(
        rng, plan=plan, latest_ago=(0, 35), gap=(25, 40), is_missing_share=NPS_MISSING_SHARE
    )
    h = health_at(health, nps_account, nps_t)
    nps = np.clip(np.round(-75 + 170 * h + rng.normal(0, 15, len(h))), -100, 100)
    frames.append(_values(measures["nps"], nps_account, nps_t, nps, ValueSource.API))

    is_stale = rng.random(count) < SENTIMENT_STALE_SHARE
    sentiment_account, sentiment_t = _irregular_days(
        rng,
        plan=plan,
        latest_ago=(0, 20),
        gap=(14, 42),
        stale_ago=np.where(is_stale, rng.integers(65, 111, size=count), 0),
    )
    h = health_at(health, sentiment_account, sentiment_t)
    # A CSM rates 1 or 2 only when the account is clearly in trouble (about one in ten).
    sentiment = np.clip(np.round(1.3 + 4.0 * h + rng.normal(0, 0.4, len(h))), 1, 5)
    comment_pick = rng.integers(0, 3, size=len(h))
    comments = np.array(SENTIMENT_COMMENTS, dtype=object)[sentiment.astype(int) - 1, comment_pick]
    frames.append(
        _values(
            measures["csm_sentiment"],
            sentiment_account,
            sentiment_t,
            sentiment,
            ValueSource.MANUAL,
            comments,
        )
    )

    roi_account, roi_t = _irregular_days(
        rng, plan=plan, latest_ago=(0, 90), gap=(85, 100), is_missing_share=ROI_MISSING_SHARE
    )
    h = health_at(health, roi_account, roi_t)
    roi = np.clip(np.round(0.8 + 4.4 * h + rng.normal(0, 0.6, len(h))), 1, 5)
    frames.append(
        _values(
            measures["roi"],
            roi_account,
            roi_t,
            roi,
            ValueSource.MANUAL,
            np.array(ROI_COMMENTS, dtype=object)[roi.astype(int) - 1],
        )
    )
    values = pd.concat(frames, ignore_index=True)
    return values.sort_values(["account", "measure_id", "t"], kind="stable", ignore_index=True)


def _values(
    measure: Measure,
    account: np.ndarray,
    t: np.ndarray,
    raw: np.ndarray,
    source: str,
    comment: np.ndarray | None = None,
) -> pd.DataFrame:
    """One measure's values, scored by the engine's rule 1 and rounded as stored."""
    scores = engine.measure_scores_from_raw(
        pd.Series(raw, dtype=float),
        measure.mapping_type,
        measure.lo,
        measure.hi,
        measure.higher_is_better,
        measure.steps,
    )
    return pd.DataFrame(
        {
            "account": account,
            "measure_id": measure.pk,
            "t": t,
            "raw_value": raw,
            "score": engine.round_half_up(scores.to_numpy(), 2),
            "source": str(source),
            "comment": "" if comment is None else comment,
            "is_manual": source == ValueSource.MANUAL,
        }
    )


def _irregular_days(
    rng: np.random.Generator,
    *,
    plan: AccountPlan,
    latest_ago: tuple[int, int],
    gap: tuple[int, int],
    is_missing_share: float = 0.0,
    stale_ago: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Days of a measure entered at irregular intervals, counted back from a recent latest one.

    Returns (account, t) pairs inside each account's history; a ``is_missing_share`` of the
    accounts has none, and ``stale_ago`` pushes an account's latest value that many days back.
    """
    count, days = plan.count, plan.days
    most = days // gap[0] + 2
    latest = days - rng.integers(latest_ago[0], latest_ago[1] + 1, size=count)
    if stale_ago is not None:
        latest = np.where(stale_ago > 0, days - stale_ago, latest)
    steps = rng.integers(gap[0], gap[1] + 1, size=(count, most))
    steps[:, 0] = 0
    t = latest[:, None] - np.cumsum(steps, axis=1)
    is_missing = rng.random(count) < is_missing_share
    is_open = (t >= plan.first_value_t[:, None]) & (t <= plan.end_t[:, None]) & ~is_missing[:, None]
    account, column = np.nonzero(is_open)
    return account, t[account, column]
