"""A small hand-built portfolio for the backtest: one scorecard for Enterprise accounts with
two direct measures, and helpers that add an account with values and a renewal outcome."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import RenewalOutcome
from tests.accounts.factories import AccountFactory, RenewalOutcomeFactory
from tests.scorecards.factories import (
    BandFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
)

RENEWAL = dt.date(2026, 6, 30)
SCORED_ON = dt.date(2026, 4, 1)  # RENEWAL − 90 days


@pytest.fixture
def renewals_scorecard(db):
    """ "Renewals", for the Enterprise segment: Outcomes (weight 60) holds usage (direct,
    weight 1, max age 60 days); Experience (weight 40) holds pulse (direct, weight 1, max age
    60). Bands Red 0 / Yellow 50 / Green 75."""
    scorecard = ScorecardFactory(name="Renewals", priority=1, segments=["Enterprise"])
    for label, low in (("Red", 0), ("Yellow", 50), ("Green", 75)):
        BandFactory(scorecard=scorecard, label=label, min_score=Decimal(low))
    outcomes = MeasureGroupFactory(scorecard=scorecard, name="Outcomes", weight=60, position=0)
    experience = MeasureGroupFactory(scorecard=scorecard, name="Experience", weight=40, position=1)
    usage = ScorecardMeasureFactory(
        group=outcomes, measure__key="usage", measure__max_age_days=60, weight=1
    ).measure
    pulse = ScorecardMeasureFactory(
        group=experience, measure__key="pulse", measure__max_age_days=60, weight=1
    ).measure
    scorecard.measures = {"usage": usage, "pulse": pulse}
    return scorecard


def add_outcome(
    scorecard,
    *,
    outcome: str,
    renewal_date: dt.date = RENEWAL,
    value_on: dt.date | None = None,
    segment: str = "Enterprise",
    account=None,
    **raw_by_key: float,
) -> RenewalOutcome:
    """An account (or `account`) with one value per given measure, dated `value_on` (default
    15 days before the scoring date), and a renewal outcome."""
    account = account or AccountFactory(segment=segment)
    value_on = value_on or renewal_date - dt.timedelta(days=105)
    for key, raw in raw_by_key.items():
        MeasureValueFactory(
            account=account,
            measure=scorecard.measures[key],
            raw_value=raw,
            score=Decimal(str(raw)),
            as_of=value_on,
        )
    return RenewalOutcomeFactory(account=account, renewal_date=renewal_date, outcome=outcome)


def separable_portfolio(scorecard, *, count: int = 30) -> list[RenewalOutcome]:
    """`count` outcomes a week apart from 2026-01-01. Outcome i churned when i % 5 is 0 or 2
    (12 of 30); usage separates them perfectly (churned 10 + i, renewed 60 + i); pulse cycles
    20, 40, 60, 80 whatever happened. With 30, the last 9 (i = 21…29) are held out."""
    outcomes = []
    for i in range(count):
        is_churned = i % 5 in (0, 2)
        outcomes.append(
            add_outcome(
                scorecard,
                outcome="churned" if is_churned else "renewed",
                renewal_date=dt.date(2026, 1, 1) + dt.timedelta(days=7 * i),
                usage=10 + i if is_churned else 60 + i,
                pulse=(20, 40, 60, 80)[i % 4],
            )
        )
    return outcomes
