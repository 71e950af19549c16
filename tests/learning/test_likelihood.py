"""Renewal likelihood: Platt calibration of the overall score on the backtest, cached per
scorecard version, never shown with too few outcomes."""

import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from scorecards.learning import likelihood
from scorecards.models import RenewalCalibration
from scorecards.services.versions import scorecard_version_create
from tests.learning.conftest import add_outcome


def _usage(i: int) -> int:
    return (i * 37) % 100  # 60 distinct values spread over 0–99


def _is_churned(i: int) -> bool:
    return _usage(i) < 30 or i % 4 == 0  # the low scores, and a quarter of the others


def likelihood_portfolio(scorecard, count: int = 60) -> None:
    """`count` outcomes a week apart; overall = usage (pulse absent)."""
    for i in range(count):
        add_outcome(
            scorecard,
            outcome="churned" if _is_churned(i) else "renewed",
            renewal_date=dt.date(2026, 1, 1) + dt.timedelta(days=7 * i),
            usage=_usage(i),
        )


def test_renewal_likelihood_for_is_scikit_learns_platt_fit(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard)
    score = np.array([_usage(i) for i in range(60)], dtype=float)
    renewed = np.array([not _is_churned(i) for i in range(60)])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(score.reshape(-1, 1) / 100, renewed)
    expected = expit(model.coef_[0][0] * 0.62 + model.intercept_[0])
    probability = likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0)
    assert probability == round(float(expected), 4)


def test_renewal_likelihood_for_grows_with_the_score(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard)
    low, high = (
        likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=score)
        for score in (20.0, 90.0)
    )
    assert 0 < low < 0.5 < high < 1


def test_renewal_likelihood_for_none_with_fewer_than_50_outcomes(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard, count=49)
    assert likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0) is None
    calibration = RenewalCalibration.objects.get(scorecard=renewals_scorecard)
    assert calibration.fit is None
    assert calibration.message.startswith(
        "Too few renewal outcomes for a renewal likelihood: 49 scored outcomes"
    )


def test_renewal_likelihood_for_none_with_fewer_than_10_churned(renewals_scorecard):
    for i in range(60):
        add_outcome(
            renewals_scorecard,
            outcome="churned" if i < 9 else "renewed",
            renewal_date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            usage=i,
        )
    assert likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0) is None
    assert "(9 churned)" in RenewalCalibration.objects.get().message


def test_renewal_likelihood_for_none_when_not_scored(renewals_scorecard):
    assert likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=None) is None
    assert not RenewalCalibration.objects.exists()


def test_renewal_calibration_is_fitted_once_per_version(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard)
    likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=50.0)
    with CaptureQueriesContext(connection) as queries:
        likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=70.0)
    assert len(queries) == 2  # the stored fit and the outcomes' count
    assert RenewalCalibration.objects.count() == 1


def test_renewal_calibration_refits_when_outcomes_arrive(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard)
    likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=50.0)
    add_outcome(renewals_scorecard, outcome="churned", usage=5)
    likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=50.0)
    assert RenewalCalibration.objects.get().n_outcomes == 61


def test_renewal_calibration_of_a_new_version_is_its_own(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard)
    scorecard_version_create(scorecard=renewals_scorecard, user=None)  # version 1
    likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=50.0)
    renewals_scorecard.groups.filter(name="Outcomes").update(weight=70)
    scorecard_version_create(scorecard=renewals_scorecard, user=None)  # version 2
    likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=50.0)
    versions = RenewalCalibration.objects.order_by("scorecard_version")
    assert list(versions.values_list("scorecard_version", flat=True)) == [1, 2]


@pytest.fixture
def fits_in_a_worker(monkeypatch):
    """More outcomes than a request fits on its own: 10 stand for the thousands."""
    monkeypatch.setattr(likelihood, "SYNC_FIT_OUTCOMES_LIMIT", 10)


def test_renewal_calibration_of_many_outcomes_is_fitted_by_a_worker(
    renewals_scorecard, fits_in_a_worker, django_capture_on_commit_callbacks
):
    likelihood_portfolio(renewals_scorecard)
    with django_capture_on_commit_callbacks() as enqueued:
        first = likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0)
        again = likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0)
    # The requests wait for nothing: no likelihood yet, one fit asked of a worker for both.
    assert (first, again, RenewalCalibration.objects.count(), len(enqueued)) == (None, None, 0, 1)
    enqueued[0]()  # the worker's turn (tasks run inline in tests)
    assert RenewalCalibration.objects.get().n_outcomes == 60
    assert 0 < likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0) < 1


def test_renewal_calibration_out_of_date_serves_until_the_worker_refits(
    renewals_scorecard, fits_in_a_worker, django_capture_on_commit_callbacks
):
    likelihood_portfolio(renewals_scorecard)
    likelihood.renewal_calibration_fit(scorecard=renewals_scorecard)
    before = likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0)
    add_outcome(renewals_scorecard, outcome="churned", usage=95)
    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        again = likelihood.renewal_likelihood_for(scorecard=renewals_scorecard, overall=62.0)
        assert again == before
    assert (len(enqueued), RenewalCalibration.objects.get().n_outcomes) == (1, 61)


def test_renewal_calibration_table_compares_on_the_held_out_part(renewals_scorecard):
    likelihood_portfolio(renewals_scorecard)
    calibration = likelihood.renewal_calibration_fit(scorecard=renewals_scorecard)
    # 60 · 0.3 = 18 held out → 10 groups of 1 or 2 outcomes, lowest prediction first.
    assert [row["outcomes"] for row in calibration.table] == [2] * 8 + [1] * 2
    predicted = [row["predicted"] for row in calibration.table]
    assert predicted == sorted(predicted)
    assert (calibration.n_outcomes, calibration.n_churned) == (60, 30)
    # The Brier score of the held-out part (the 18 latest), fitted on the 42 before it.
    score = np.array([_usage(i) for i in range(60)], dtype=float) / 100
    renewed = np.array([not _is_churned(i) for i in range(60)])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(score[:42, None], renewed[:42])
    predicted = model.predict_proba(score[42:, None])[:, 1]
    assert calibration.brier_holdout == round(brier_score_loss(renewed[42:], predicted), 4)
