"""`renewal_likelihood` in the score endpoint: the Platt calibration of the scorecard's
backtest applied to the account's overall score, null with too few renewal outcomes."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from scorecards.services import scoring
from tests.accounts.factories import AccountFactory
from tests.learning.conftest import renewals_scorecard  # noqa: F401 (a fixture)
from tests.learning.test_likelihood import _is_churned, _usage, likelihood_portfolio
from tests.scorecards.factories import MeasureValueFactory

DAY = dt.date(2026, 11, 1)


def _scored_account(scorecard, csm, usage: float):
    """An Enterprise account whose only value is usage: its overall score is the usage."""
    account = AccountFactory(owner=csm, segment="Enterprise", external_id="ENT-9")
    MeasureValueFactory(
        account=account,
        measure=scorecard.measures["usage"],
        raw_value=usage,
        score=Decimal(str(usage)),
        as_of=DAY,
    )
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY))
    return account


@pytest.mark.django_db
def test_score_renewal_likelihood_is_the_calibrated_probability(
    csm_client,
    csm,
    renewals_scorecard,  # noqa: F811
):
    likelihood_portfolio(renewals_scorecard)
    _scored_account(renewals_scorecard, csm, 62)
    body = csm_client.get("/api/v1/accounts/ENT-9/score/").json()
    # Platt scaling on the 60 outcomes' scores (0–1) against "renewed", applied to 0.62.
    score = np.array([_usage(i) for i in range(60)], dtype=float) / 100
    renewed = np.array([not _is_churned(i) for i in range(60)])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(score[:, None], renewed)
    expected = round(float(expit(model.coef_[0][0] * 0.62 + model.intercept_[0])), 4)
    assert body["overall"] == 62.0
    assert body["renewal_likelihood"] == expected


@pytest.mark.django_db
def test_score_renewal_likelihood_is_null_with_fewer_than_50_outcomes(
    csm_client,
    csm,
    renewals_scorecard,  # noqa: F811
):
    likelihood_portfolio(renewals_scorecard, count=49)
    _scored_account(renewals_scorecard, csm, 62)
    body = csm_client.get("/api/v1/accounts/ENT-9/score/").json()
    assert body["renewal_likelihood"] is None
