"""CSM sentiment: a manual measure value entered on the account page."""

from datetime import date
from decimal import Decimal

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account
from scorecards import engine
from scorecards.choices import ValueSource
from scorecards.models import Measure, MeasureValue
from scorecards.services.scoring import account_rescore

SENTIMENT_KEY = "csm_sentiment"
SENTIMENT_CHOICES = (1, 2, 3, 4, 5)
# A poor read (1 or 2) must say why: it drives the low-sentiment exception and risk.
COMMENT_REQUIRED_AT_OR_BELOW = 2


def sentiment_record(
    *,
    account: Account,
    score_1_to_5: int,
    comment: str,
    user: AbstractBaseUser | None,
    as_of: date,
) -> MeasureValue:
    """Record the CSM's sentiment (1–5) for `account` as of `as_of` and rescore the account.

    Creates a manual `csm_sentiment` measure value scored with the measure's own mapping
    (rule 1); a second entry on the same day replaces the first (one manual value per account,
    measure and date). Then the account is rescored for `as_of` at once, so its current score
    shows the new value. Risks are not evaluated here: risk sits above scorecards, so the
    caller (the view) does that. Raises ValidationError for a value outside 1–5 or a missing
    comment on a 1 or 2.
    """
    if score_1_to_5 not in SENTIMENT_CHOICES:
        raise ValidationError({"score": "Sentiment is a whole number from 1 to 5."})
    comment = comment.strip()
    if score_1_to_5 <= COMMENT_REQUIRED_AT_OR_BELOW and not comment:
        raise ValidationError({"comment": "Say why when the sentiment is 1 or 2."})
    if len(comment) > MeasureValue.COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"comment": f"At most {MeasureValue.COMMENT_MAX_LENGTH:,} characters."}
        )
    measure = Measure.objects.get(key=SENTIMENT_KEY)
    with transaction.atomic():
        value, _ = MeasureValue.objects.update_or_create(
            account=account,
            measure=measure,
            as_of=as_of,
            source=ValueSource.MANUAL,
            defaults={
                "raw_value": float(score_1_to_5),
                "score": _sentiment_score(measure=measure, raw=score_1_to_5),
                "comment": comment,
                "entered_by": user,
            },
        )
    account_rescore(account=account, as_of=as_of, user=user)
    return value


def _sentiment_score(*, measure: Measure, raw: int) -> Decimal:
    score = engine.measure_scores_from_raw(
        pd.Series([float(raw)]),
        measure.mapping_type,
        lo=measure.lo,
        hi=measure.hi,
        higher_is_better=measure.higher_is_better,
        steps=measure.steps,
    ).iloc[0]
    return Decimal(f"{float(engine.round_half_up(score)):.2f}")
