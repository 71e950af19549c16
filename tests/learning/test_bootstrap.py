"""The held-out AUC's bootstrap interval (maths.auc_bootstrap): pure, seeded, no database."""

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from sklearn.metrics import roc_auc_score

from scorecards.learning import maths

# Eight renewals and four churns; the scores overlap, so the AUC is neither 0.5 nor 1.
CHURNED = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
SCORES = np.array([20, 35, 60, 48, 55, 70, 80, 40, 90, 65, 75, 85], dtype=float)


def _four_places(value: float) -> float:
    return float(Decimal(repr(float(value))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def test_auc_bootstrap_perfect_separation_is_certain():
    # Every churned account scores below every renewed one: each resample with both classes
    # has AUC 1, so the interval is [1, 1].
    result = maths.auc_bootstrap(
        np.array([1, 1, 0, 0], dtype=bool), np.array([10.0, 20.0, 80.0, 90.0]), resamples=200
    )
    assert result == {"auc": 1.0, "low": 1.0, "high": 1.0, "resamples": 200}


def test_auc_bootstrap_matches_a_plain_loop_over_the_same_resamples():
    result = maths.auc_bootstrap(CHURNED, SCORES, resamples=100, seed=3)
    # The same draws, scored one by one with scikit-learn.
    rng = np.random.default_rng(3)
    aucs = []
    for _ in range(0, 100, 50):
        for picks in rng.integers(0, len(CHURNED), size=(50, len(CHURNED))):
            y = CHURNED[picks]
            if y.any() and not y.all():
                aucs.append(roc_auc_score(y, -SCORES[picks]))
    low, high = np.percentile(aucs, [2.5, 97.5])
    # Renewed scores above each churned one: 20 → 8, 35 → 8, 48 → 7, 60 → 6; 29 of 32 pairs
    # = 0.90625, four decimals half up.
    assert result["auc"] == 0.9063
    assert (result["low"], result["high"]) == (_four_places(low), _four_places(high))


def test_auc_bootstrap_is_the_same_on_every_call():
    first = maths.auc_bootstrap(CHURNED, SCORES)
    assert maths.auc_bootstrap(CHURNED, SCORES) == first
    assert first["resamples"] == 1000


def test_auc_bootstrap_same_scores_as_baseline_differ_by_exactly_zero():
    result = maths.auc_bootstrap(CHURNED, SCORES, baseline=SCORES.copy(), resamples=300)
    assert (result["difference_low"], result["difference_high"]) == (0.0, 0.0)
    assert result["baseline_auc"] == result["auc"]


def test_auc_bootstrap_leaves_unscored_outcomes_out():
    with_gap = np.append(SCORES, np.nan)
    churned = np.append(CHURNED, True)
    assert maths.auc_bootstrap(churned, with_gap, resamples=50) == maths.auc_bootstrap(
        CHURNED, SCORES, resamples=50
    )


def test_auc_bootstrap_one_class_has_no_interval():
    result = maths.auc_bootstrap(np.zeros(4, dtype=bool), np.array([1.0, 2.0, 3.0, 4.0]))
    assert result == {"auc": None, "low": None, "high": None, "resamples": 1000}
