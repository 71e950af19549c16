"""The Relationship measures computed from contacts and touchpoints: sponsor_engagement (days
since the last touchpoint with an active executive sponsor or decision maker) and
sponsor_coverage (1 when the account has an active executive sponsor, else 0).

They live here rather than in scorecards because they read contacts the way the sponsor
risks do (risk.selectors); risk may import scorecards, scorecards cannot import risk.
"""

from datetime import date

import numpy as np
import pandas as pd

from accounts.models import Account
from healthscore.generations import generation_bump_for
from risk import engine as risk_engine
from risk import selectors
from scorecards import engine as scoring_engine
from scorecards.choices import ValueSource
from scorecards.models import Measure, MeasureValue

SPONSOR_ENGAGEMENT = "sponsor_engagement"
SPONSOR_COVERAGE = "sponsor_coverage"
# sponsor_engagement's raw value when no touchpoint with an active sponsor or decision maker
# is on record: "a year or more", which the default mapping (0–90 days) scores 0.
NO_SPONSOR_TOUCH_DAYS = 365


def sponsor_measures_frame(*, as_of: date, account_ids: list[int] | None = None) -> pd.DataFrame:
    """The raw values on `as_of` of the active accounts (or the given ones): account_id,
    sponsor_engagement, sponsor_coverage. Three queries, whatever the portfolio's size."""
    accounts = Account.objects.filter(status=Account.Status.ACTIVE)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    frame = pd.DataFrame(
        {risk_engine.ACCOUNT_ID: list(accounts.order_by("pk").values_list("pk", flat=True))},
        dtype="int64",
    )
    frame = frame.merge(
        selectors.last_sponsor_touch_frame(as_of=as_of, account_ids=account_ids),
        on=risk_engine.ACCOUNT_ID,
        how="left",
    ).merge(
        selectors.sponsor_contacts_frame(as_of=as_of, account_ids=account_ids),
        on=risk_engine.ACCOUNT_ID,
        how="left",
    )
    days_since = (pd.Timestamp(as_of) - frame[risk_engine.LAST_SPONSOR_TOUCH_ON]).dt.days
    return pd.DataFrame(
        {
            risk_engine.ACCOUNT_ID: frame[risk_engine.ACCOUNT_ID],
            SPONSOR_ENGAGEMENT: days_since.fillna(NO_SPONSOR_TOUCH_DAYS).astype(float),
            SPONSOR_COVERAGE: np.where(
                frame[risk_engine.EXECUTIVE_SPONSORS].fillna(0) > 0, 1.0, 0.0
            ),
        }
    )


def sponsor_measures_compute(*, as_of: date, account_ids: list[int] | None = None) -> int:
    """Write the sponsor_engagement and sponsor_coverage values of every active account (or
    the given ones) as of `as_of`, source "computed", scored by the measure's own mapping.

    Idempotent on account + measure + as_of + source: computing the day again replaces that
    day's computed values and touches no other value. A measure that does not exist is
    skipped. Returns the number of values written."""
    raw = sponsor_measures_frame(as_of=as_of, account_ids=account_ids)
    values = []
    for measure in Measure.objects.filter(key__in=[SPONSOR_ENGAGEMENT, SPONSOR_COVERAGE]):
        scores = scoring_engine.measure_scores_from_raw(
            raw[measure.key],
            measure.mapping_type,
            measure.lo,
            measure.hi,
            measure.higher_is_better,
            measure.steps,
        )
        values += [
            MeasureValue(
                account_id=account_id,
                measure=measure,
                raw_value=raw_value,
                score=round(score, 2),
                as_of=as_of,
                source=ValueSource.COMPUTED,
            )
            for account_id, raw_value, score in zip(
                raw[risk_engine.ACCOUNT_ID].tolist(),
                raw[measure.key].tolist(),
                scores.tolist(),
                strict=True,
            )
        ]
    MeasureValue.objects.bulk_create(
        values,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["account", "measure", "as_of", "source"],
        update_fields=["raw_value", "score"],
    )
    generation_bump_for(MeasureValue)
    return len(values)
