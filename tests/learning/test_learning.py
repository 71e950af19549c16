"""scorecards/maths.py: the pure maths of learning from renewals. No database.

Every expected figure is worked out by hand in a comment; where the product promises to
agree with scikit-learn, the test says so and checks both."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.metrics import roc_auc_score

from scorecards import engine
from scorecards.learning import maths


def _dates(*days: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days)))


# churn_labels


def test_churn_labels_churned_only_by_default():
    outcome = pd.Series(["renewed", "churned", "downgraded", "expanded"])
    assert maths.churn_labels(outcome).tolist() == [False, True, False, False]


def test_churn_labels_downgraded_counts_when_asked():
    outcome = pd.Series(["renewed", "churned", "downgraded", "expanded"])
    labels = maths.churn_labels(outcome, downgraded_is_churned=True)
    assert labels.tolist() == [False, True, True, False]


# holdout_mask


def test_holdout_mask_holds_out_the_latest_30_percent_by_renewal_date():
    # 10 outcomes in shuffled order: the 3 latest renewals (ids 4, 9, 1) are held out.
    renewal = _dates(
        "2026-03-01",  # id 1: 10th
        "2026-01-01",
        "2026-01-05",
        "2026-02-20",  # id 4: 8th
        "2026-01-02",
        "2026-01-10",
        "2026-01-20",
        "2026-02-01",
        "2026-02-25",  # id 9: 9th
        "2026-01-03",
    )
    ids = pd.Series(range(1, 11))
    mask = maths.holdout_mask(renewal, ids)
    assert ids[mask].tolist() == [1, 4, 9]


def test_holdout_mask_breaks_ties_by_outcome_id():
    # 7 outcomes: 7 · 0.3 = 2.1 → 2 held out; four renew on the last day, ids 6 and 7 win.
    renewal = _dates(*["2026-01-01"] * 3 + ["2026-05-01"] * 4)
    ids = pd.Series([1, 2, 3, 4, 5, 6, 7])
    assert ids[maths.holdout_mask(renewal, ids)].tolist() == [6, 7]


def test_holdout_mask_of_nothing_is_empty():
    assert maths.holdout_mask(_dates(), pd.Series([], dtype=int)).tolist() == []


# score_auc


def test_score_auc_low_score_means_churn():
    # Churned 20, 40; renewed 30, 80. Pairs (churned, renewed) where the churned one scores
    # lower: (20,30) (20,80) (40,80) yes, (40,30) no → 3/4.
    is_churned = np.array([True, True, False, False])
    score = np.array([20.0, 40.0, 30.0, 80.0])
    assert maths.score_auc(is_churned, score) == 0.75
    assert maths.score_auc(is_churned, score) == roc_auc_score(is_churned, -score)


def test_score_auc_leaves_not_scored_outcomes_out():
    is_churned = np.array([True, True, False, False, True])
    score = np.array([20.0, 40.0, 30.0, 80.0, np.nan])
    assert maths.score_auc(is_churned, score) == 0.75


def test_score_auc_counts_a_tie_as_half():
    # Churned 50; renewed 50 and 60: (50,50) ½ + (50,60) 1 → 1.5/2 = 0.75.
    assert maths.score_auc(np.array([True, False, False]), np.array([50.0, 50, 60])) == 0.75


def test_score_auc_undefined_with_one_class():
    assert maths.score_auc(np.array([False, False]), np.array([10.0, 20.0])) is None


# band_churn_rates

BANDS = pd.DataFrame({"label": ["Yellow", "Red", "Green"], "min": [50.0, 0.0, 75.0]})


def test_band_churn_rates_per_band_with_lift():
    band = pd.Series(["Red", "Red", "Red", "Green", "Not scored"])
    is_churned = np.array([True, True, False, False, True])
    table = maths.band_churn_rates(band=band, is_churned=is_churned, bands=BANDS)
    # Scored: 4 outcomes, 2 churned → base rate 0.5 (the not-scored churn is left out).
    # Red 2/3 = 0.6667, lift 0.6667/0.5 = 1.3333; Yellow empty; Green 0/1 = 0, lift 0.
    expected = pd.DataFrame(
        {
            "label": ["Red", "Yellow", "Green"],
            "min": [0.0, 50.0, 75.0],
            "accounts": np.array([3, 0, 1], dtype=np.int64),
            "churned": np.array([2, 0, 0], dtype=np.int64),
            "churn_rate": [2 / 3, np.nan, 0.0],
            "lift": [4 / 3, np.nan, 0.0],
        }
    )
    assert_frame_equal(table, expected)


def test_band_churn_rates_lift_undefined_without_churn():
    table = maths.band_churn_rates(
        band=pd.Series(["Red", "Green"]), is_churned=np.array([False, False]), bands=BANDS
    )
    assert table["churn_rate"].tolist()[::2] == [0.0, 0.0]
    assert table["lift"].isna().all()


# measure_aucs


def test_measure_aucs_each_over_the_outcomes_where_it_is_present():
    features = pd.DataFrame(
        {
            # usage: churned 10, 20; renewed 90, 80 → every pair ordered → 1.0
            "usage": [10.0, 20.0, 90.0, 80.0],
            # nps: present on 3 outcomes: churned 70; renewed 30, 90 → (70,90) only → 1/2
            "nps": [70.0, np.nan, 30.0, 90.0],
        }
    )
    is_churned = np.array([True, True, False, False])
    expected = pd.DataFrame({"measure_key": ["usage", "nps"], "auc": [1.0, 0.5], "present": [4, 3]})
    assert_frame_equal(maths.measure_aucs(features, is_churned), expected)


# backtest_report


def test_backtest_report_held_out_figures_use_the_held_out_part_only():
    outcomes = pd.DataFrame(
        {
            "is_churned": [True, False, True, False, True, False],
            "is_holdout": [False, False, False, False, True, True],
            "overall": [20.0, 30.0, 40.0, 80.0, 90.0, 10.0],
            "band": ["Red", "Red", "Red", "Green", "Green", "Red"],
        }
    )
    features = pd.DataFrame({"usage": [20.0, 30.0, 40.0, 80.0, 90.0, 10.0]})
    report = maths.backtest_report(outcomes, features, BANDS)
    # All: churned 20, 40, 90; renewed 30, 80, 10 → pairs won: 20<30, 20<80, 40<80 → 3/9.
    assert report["auc"] == 0.3333
    # Training (first 4): churned 20, 40; renewed 30, 80 → 3/4.
    assert report["auc_train"] == 0.75
    # Held out: churned 90, renewed 10 → 0/1.
    assert report["auc_holdout"] == 0.0
    assert (report["holdout_size"], report["train_size"]) == (2, 4)
    assert report["bands_holdout"] == [
        {"label": "Red", "min": 0.0, "accounts": 1, "churned": 0, "churn_rate": 0.0, "lift": 0.0},
        {
            "label": "Yellow",
            "min": 50.0,
            "accounts": 0,
            "churned": 0,
            "churn_rate": None,
            "lift": None,
        },
        {
            "label": "Green",
            "min": 75.0,
            "accounts": 1,
            "churned": 1,
            "churn_rate": 1.0,
            "lift": 2.0,
        },
    ]
    assert report["measures"] == [{"key": "usage", "auc": 0.3333, "auc_holdout": 0.0, "present": 6}]


# values_on_common_date


def test_values_on_common_date_shifts_each_outcome_and_drops_later_values():
    values = pd.DataFrame(
        {
            "outcome_id": [1, 1, 2],
            "measure_id": [5, 5, 5],
            "raw_value": [10.0, 99.0, 20.0],
            "as_of": pd.to_datetime(["2026-03-20", "2026-04-02", "2026-06-01"]),
            "value_id": [100, 101, 102],
        }
    )
    outcomes = pd.DataFrame(
        {"outcome_id": [1, 2], "scored_on": pd.to_datetime(["2026-04-01", "2026-07-01"])}
    )
    shifted = maths.values_on_common_date(values, outcomes, as_of=pd.Timestamp("2026-07-01"))
    # Outcome 1: its 2026-04-02 value is after its date; 2026-03-20 moves by 91 days
    # (2026-04-01 → 2026-07-01), keeping its age of 12 days. Outcome 2 is already there.
    expected = pd.DataFrame(
        {
            "account_id": np.array([1, 2], dtype=np.int64),
            "measure_id": np.array([5, 5], dtype=np.int64),
            "raw_value": [10.0, 20.0],
            "as_of": pd.to_datetime(["2026-06-19", "2026-06-01"]),
            "value_id": np.array([100, 102], dtype=np.int64),
        }
    )
    assert_frame_equal(shifted, expected)


def _one_measure_frames(max_age_days: float):
    measures = pd.DataFrame(
        {
            "scorecard_id": [1],
            "group_id": [1],
            "measure_id": [5],
            "measure_key": ["usage"],
            "weight": [1.0],
            "mapping_type": ["direct"],
            "lo": [np.nan],
            "hi": [np.nan],
            "higher_is_better": [True],
            "steps": [None],
            "max_age_days": [max_age_days],
        }
    )
    groups = pd.DataFrame(
        {
            "scorecard_id": [1],
            "group_id": [1],
            "group_name": ["G"],
            "weight": [1.0],
            "position": [0],
        }
    )
    return {
        "measures": measures,
        "groups": groups,
        "scorecards": pd.DataFrame({"scorecard_id": [1], "min_coverage": [0.0]}),
        "bands": pd.DataFrame({"scorecard_id": [1], "label": ["Red"], "min": [0.0]}),
        "exception_rules": pd.DataFrame(
            columns=[
                "scorecard_id",
                "rule_id",
                "measure_id",
                "op",
                "value",
                "action",
                "band",
                "score",
                "reason",
            ]
        ),
    }


def test_values_on_common_date_scores_like_each_outcomes_own_date():
    # One account, two outcomes scored on different dates; max age 30 days.
    history = pd.DataFrame(
        {
            "account_id": [7, 7, 7],
            "measure_id": [5, 5, 5],
            "raw_value": [40.0, 60.0, 80.0],
            "as_of": pd.to_datetime(["2026-01-01", "2026-03-10", "2026-05-20"]),
            "value_id": [1, 2, 3],
        }
    )
    dates = [dt.date(2026, 3, 31), dt.date(2026, 6, 30)]
    frames = _one_measure_frames(max_age_days=30.0)
    own = [
        engine.score_accounts(
            values=history,
            assignments=pd.DataFrame({"account_id": [7], "scorecard_id": [1]}),
            as_of=day,
            **frames,
        ).accounts["overall"][0]
        for day in dates
    ]
    by_outcome = history.drop(columns="account_id").assign(outcome_id=[1, 1, 1])
    by_outcome = pd.concat([by_outcome, by_outcome.assign(outcome_id=2)], ignore_index=True)
    outcomes = pd.DataFrame({"outcome_id": [1, 2], "scored_on": pd.to_datetime(dates)})
    common = maths.values_on_common_date(by_outcome, outcomes, as_of=pd.Timestamp("2026-06-30"))
    together = engine.score_accounts(
        values=common,
        assignments=pd.DataFrame({"account_id": [1, 2], "scorecard_id": [1, 1]}),
        as_of=dt.date(2026, 6, 30),
        **frames,
    ).accounts["overall"]
    # 2026-03-31: the 03-10 value (60, 21 days old); 2026-06-30: the 05-20 value is 41 days
    # old, stale → not scored.
    assert own[0] == 60.0 and math.isnan(own[1])
    assert together[0] == 60.0 and math.isnan(together[1])


# Optimizer

Y = np.array([True] * 20 + [False] * 20)
PERFECT = np.r_[np.arange(10, 30), np.arange(70, 90)].astype(float)
NOISE = np.tile([20.0, 40.0, 60.0, 80.0], 10)  # the same values in both classes


def test_fit_measure_weights_a_perfect_separator_gets_the_largest_weight():
    # A weak measure: churned 40–59, renewed 50–69 (overlapping).
    weak = np.r_[np.arange(40, 60), np.arange(50, 70)].astype(float)
    features = pd.DataFrame({"noise": NOISE, "weak": weak, "perfect": PERFECT})
    weights = maths.fit_measure_weights(features, Y)
    assert weights.idxmax() == "perfect"
    assert weights["perfect"] > weights["weak"] > 0


def test_fit_measure_weights_an_unrelated_measure_gets_a_small_weight():
    features = pd.DataFrame({"noise": NOISE, "perfect": PERFECT})
    suggested = maths.suggested_weights(maths.fit_measure_weights(features, Y))
    # noise has no relation to churn: it gets (at most) the minimum weight.
    assert suggested.to_dict() == {"noise": 0.01, "perfect": 100.0}


def test_fit_measure_weights_never_negative():
    # Higher "inverse" goes with churn: a health weight cannot say so, it gets 0.
    inverse = np.r_[np.arange(60, 80), np.arange(30, 50)].astype(float)
    features = pd.DataFrame({"inverse": inverse, "perfect": PERFECT})
    weights = maths.fit_measure_weights(features, Y)
    assert weights["inverse"] == 0.0
    assert weights["perfect"] > 0


def test_fit_measure_weights_imputes_the_training_mean_for_missing_scores():
    with_gaps = PERFECT.copy()
    with_gaps[[0, 39]] = np.nan
    never = np.full(40, np.nan)
    features = pd.DataFrame({"perfect": with_gaps, "never": never})
    weights = maths.fit_measure_weights(features, Y)
    assert weights["never"] == 0.0
    assert weights["perfect"] > 0


def test_fit_measure_weights_refuses_too_few_outcomes():
    features = pd.DataFrame({"perfect": PERFECT[:19]})
    with pytest.raises(maths.InsufficientOutcomes, match="19 scored outcomes"):
        maths.fit_measure_weights(features, Y[:19])


def test_fit_measure_weights_refuses_too_few_churned():
    y = np.array([True] * 4 + [False] * 36)
    with pytest.raises(maths.InsufficientOutcomes, match=r"\(4 churned, 36 not\)"):
        maths.fit_measure_weights(pd.DataFrame({"perfect": PERFECT}), y)


def test_suggested_weights_are_percentages_with_two_decimals():
    # 1, 2 and 0 of 3: 33.333… → 33.33, 66.666… → 66.67, 0 → the 0.01 minimum.
    suggested = maths.suggested_weights(pd.Series({"a": 1.0, "b": 2.0, "c": 0.0}))
    assert suggested.to_dict() == {"a": 33.33, "b": 66.67, "c": 0.01}


def test_suggested_weights_refuse_all_zero():
    with pytest.raises(maths.InsufficientOutcomes, match="No measure separates"):
        maths.suggested_weights(pd.Series({"a": 0.0, "b": 0.0}))


def test_implied_group_weights_sum_their_measures():
    weights = {"usage": 40.0, "nps": 25.5, "sponsor": 34.5}
    group_of = {"usage": "Outcomes", "nps": "Experience", "sponsor": "Outcomes"}
    assert maths.implied_group_weights(weights, group_of) == {
        "Outcomes": 74.5,
        "Experience": 25.5,
    }


def test_frames_with_weights_replaces_weights_by_key_and_group_name():
    frames = _one_measure_frames(max_age_days=30.0)
    measures, groups = maths.frames_with_weights(
        frames["measures"], frames["groups"], measure_weights={"usage": 7.5}, group_weights={"G": 3}
    )
    assert measures["weight"].tolist() == [7.5]
    assert groups["weight"].tolist() == [3]
    assert frames["measures"]["weight"].tolist() == [1.0]  # the input is not mutated


def test_frames_with_weights_names_what_is_missing():
    frames = _one_measure_frames(max_age_days=30.0)
    with pytest.raises(ValueError, match="no weight for: usage, G"):
        maths.frames_with_weights(
            frames["measures"], frames["groups"], measure_weights={}, group_weights={}
        )


# Renewal likelihood


def test_likelihood_check_needs_50_outcomes():
    message = maths.likelihood_check(np.array([True] * 10 + [False] * 39))
    assert message == (
        "Too few renewal outcomes for a renewal likelihood: 49 scored outcomes (10 churned); "
        "at least 50 with 10 churned are needed."
    )


def test_likelihood_check_needs_10_churned():
    message = maths.likelihood_check(np.array([True] * 9 + [False] * 91))
    assert "100 scored outcomes (9 churned)" in message


def test_likelihood_check_accepts_50_with_10_churned():
    assert maths.likelihood_check(np.array([True] * 10 + [False] * 40)) is None


def test_calibration_predict_of_a_flat_fit_is_one_half():
    fit = {"method": "platt", "coef": 0.0, "intercept": 0.0}
    assert maths.calibration_predict(fit, np.array([10.0, 90.0])).tolist() == [0.5, 0.5]


def test_calibration_predict_applies_the_logistic_curve():
    # expit(4 · 0.5 − 2) = expit(0) = 0.5; expit(4 · 1 − 2) = 1 / (1 + e^−2) = 0.880797…
    fit = {"method": "platt", "coef": 4.0, "intercept": -2.0}
    predicted = maths.calibration_predict(fit, np.array([50.0, 100.0]))
    assert predicted[0] == 0.5
    assert predicted[1] == pytest.approx(1 / (1 + math.exp(-2)), abs=1e-15)


def test_calibration_fit_higher_scores_renew_more():
    score = np.r_[np.arange(0, 50, 2.5), np.arange(30, 100, 3.5)]  # 20 churned, 20 renewed
    fit = maths.calibration_fit(score, np.array([False] * 20 + [True] * 20))
    predicted = maths.calibration_predict(fit, np.array([10.0, 50.0, 90.0]))
    assert predicted[0] < predicted[1] < predicted[2]


def test_calibration_table_by_decile():
    # 20 predictions → 10 groups of 2, lowest first; observed = share renewed in the group.
    predicted = np.arange(20) / 20.0  # 0.00, 0.05, … 0.95
    renewed = np.array([False, False, False, True] + [True] * 16)
    table = maths.calibration_table(predicted[::-1].copy(), renewed[::-1].copy())
    assert table[0] == {"decile": 1, "outcomes": 2, "predicted": 0.025, "observed": 0.0}
    assert table[1] == {"decile": 2, "outcomes": 2, "predicted": 0.125, "observed": 0.5}
    assert table[9] == {"decile": 10, "outcomes": 2, "predicted": 0.925, "observed": 1.0}
    assert len(table) == 10


def test_calibration_report_without_enough_outcomes_has_no_fit():
    report = maths.calibration_report(
        np.array([10.0, 90.0]), np.array([True, False]), np.array([False, True])
    )
    assert report["fit"] is None
    assert report["table_holdout"] == []
    assert report["message"].startswith("Too few renewal outcomes for a renewal likelihood")
