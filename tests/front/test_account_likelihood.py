"""The renewal likelihood in the account page's header: the calibrated probability of the
account's score, with how many renewals it was calibrated on; nothing with too few."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from scorecards.services import scoring
from tests.accounts.factories import AccountFactory
from tests.learning.conftest import add_outcome, renewals_scorecard  # noqa: F401 (a fixture)
from tests.learning.test_likelihood import _is_churned, _usage, likelihood_portfolio
from tests.scorecards.factories import MeasureValueFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 1)


def _account_page(client, csm, scorecard, usage: float) -> str:
    """The page of an Enterprise account whose only value is usage (overall = usage)."""
    account = AccountFactory(owner=csm, segment="Enterprise")
    MeasureValueFactory(
        account=account,
        measure=scorecard.measures["usage"],
        raw_value=usage,
        score=Decimal(str(usage)),
        as_of=DAY,
    )
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY))
    client.force_login(csm)
    return client.get(reverse("front:account-detail", kwargs={"pk": account.pk}))


def test_account_page_shows_the_renewal_likelihood(client, csm, renewals_scorecard):  # noqa: F811
    likelihood_portfolio(renewals_scorecard)
    response = _account_page(client, csm, renewals_scorecard, 62)
    score = np.array([_usage(i) for i in range(60)], dtype=float) / 100
    renewed = np.array([not _is_churned(i) for i in range(60)])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(score[:, None], renewed)
    probability = round(float(expit(model.coef_[0][0] * 0.62 + model.intercept_[0])), 4)
    likelihood = response.context["likelihood"]
    assert (likelihood.probability, likelihood.n_outcomes) == (probability, 60)
    assert probability == 0.625
    assert likelihood.percent == 63  # 62.5 %, half up
    html = response.content.decode()
    assert "Renewal likelihood <strong>63 %</strong>" in html
    assert "calibrated on 60 renewals" in html


def test_account_page_has_no_likelihood_with_too_few_outcomes(
    client,
    csm,
    renewals_scorecard,  # noqa: F811
):
    likelihood_portfolio(renewals_scorecard, count=49)
    response = _account_page(client, csm, renewals_scorecard, 62)
    assert response.context["likelihood"] is None
    assert "Renewal likelihood" not in response.content.decode()


def test_a_new_renewal_outcome_shows_on_the_next_account_page(
    client,
    csm,
    renewals_scorecard,  # noqa: F811
):
    """The page keeps its scorecard's calibration cached: the 50th outcome (a write to the
    accounts) makes it fit again on the next view, where 49 gave no likelihood."""
    likelihood_portfolio(renewals_scorecard, count=49)
    response = _account_page(client, csm, renewals_scorecard, 62)
    assert response.context["likelihood"] is None
    add_outcome(
        renewals_scorecard,
        outcome="renewed" if not _is_churned(49) else "churned",
        renewal_date=dt.date(2026, 1, 1) + dt.timedelta(days=7 * 49),
        usage=_usage(49),
    )
    again = client.get(response.wsgi_request.path)
    assert again.context["likelihood"].n_outcomes == 50
