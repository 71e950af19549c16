"""The backtest service on hand-built portfolios (SQLite and PostgreSQL).

Scores are worked out by hand from the scoring rules: with usage (Outcomes, 60) and pulse
(Experience, 40) both present, overall = 0.6·usage + 0.4·pulse; with one missing, the other."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scorecards.learning import backtest
from tests.learning.conftest import RENEWAL, add_outcome


def _four_outcomes(scorecard):
    """Churned at usage 20 and 40, renewed at 30 and 80 (pulse absent)."""
    add_outcome(scorecard, outcome="churned", usage=20)
    add_outcome(scorecard, outcome="churned", usage=40)
    add_outcome(scorecard, outcome="renewed", usage=30)
    add_outcome(scorecard, outcome="renewed", usage=80)


def test_scorecard_backtest_auc_of_the_overall_score(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    # Churned 20, 40; renewed 30, 80: 3 of 4 (churned, renewed) pairs have the churned one
    # lower → AUC 0.75.
    assert report["auc"] == 0.75
    assert (report["n_outcomes"], report["n_churned"], report["churn_rate"]) == (4, 2, 0.5)
    assert report["horizon_days"] == 90


def test_scorecard_backtest_band_churn_rates_and_lift(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    # Red: 20, 40, 30 → 2 of 3 churned = 0.6667, lift 0.6667 / 0.5 = 1.33; Yellow empty;
    # Green: 80 → 0 of 1.
    assert [(b["label"], b["accounts"], b["churn_rate"], b["lift"]) for b in report["bands"]] == [
        ("Red", 3, 0.6667, 1.33),
        ("Yellow", 0, None, None),
        ("Green", 1, 0.0, 0.0),
    ]


def test_scorecard_backtest_scores_each_outcome_as_of_renewal_minus_horizon(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    churned = add_outcome(renewals_scorecard, outcome="churned", usage=10)
    # 10 days after that outcome's scoring date (2026-04-01) the same account's usage went up
    # to 95: too late for it, but in time for the account's next renewal, scored 2026-05-01.
    add_outcome(
        renewals_scorecard,
        outcome="renewed",
        account=churned.account,
        renewal_date=RENEWAL + dt.timedelta(days=30),
        value_on=RENEWAL - dt.timedelta(days=80),
        usage=95,
    )
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    # Churned 20, 40, 10; renewed 30, 80, 95: pairs won 20 → 3, 40 → 2, 10 → 3 = 8/9.
    assert report["auc"] == 0.8889


def test_scorecard_backtest_another_horizon(renewals_scorecard):
    # Values 105 days before renewal: on renewal − 120 days nothing is known yet.
    _four_outcomes(renewals_scorecard)
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard, horizon_days=120)
    assert (report["n_scored"], report["n_not_scored"], report["auc"]) == (0, 4, None)


def test_scorecard_backtest_counts_not_scored_outcomes_and_leaves_them_out(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    # 70 days old on its scoring date: stale (max age 60) → nothing present → not scored.
    add_outcome(
        renewals_scorecard, outcome="renewed", value_on=RENEWAL - dt.timedelta(days=160), usage=5
    )
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    assert (report["n_outcomes"], report["n_scored"], report["n_not_scored"]) == (5, 4, 1)
    assert report["auc"] == 0.75
    assert report["churn_rate"] == 0.4  # 2 of all 5 outcomes


def test_scorecard_backtest_downgraded_counts_as_churned_only_when_asked(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    add_outcome(renewals_scorecard, outcome="downgraded", usage=35)
    plain = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    asked = backtest.scorecard_backtest(scorecard=renewals_scorecard, downgraded_is_churned=True)
    # As renewed: churned 20, 40 vs renewed 30, 80, 35 → 20 → 3, 40 → 1 = 4/6 = 0.6667.
    # As churned: churned 20, 40, 35 vs renewed 30, 80 → 20 → 2, 40 → 1, 35 → 1 = 4/6.
    assert (plain["n_churned"], plain["auc"]) == (2, 0.6667)
    assert (asked["n_churned"], asked["auc"]) == (3, 0.6667)
    assert asked["downgraded_is_churned"] is True


def test_scorecard_backtest_leaves_out_accounts_of_other_scorecards(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    add_outcome(renewals_scorecard, outcome="churned", segment="Mid-Market", usage=99)
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    assert (report["n_outcomes"], report["auc"]) == (4, 0.75)


def test_scorecard_backtest_measures_own_auc(renewals_scorecard):
    add_outcome(renewals_scorecard, outcome="churned", usage=20, pulse=70)
    add_outcome(renewals_scorecard, outcome="churned", usage=40)
    add_outcome(renewals_scorecard, outcome="renewed", usage=30, pulse=30)
    add_outcome(renewals_scorecard, outcome="renewed", usage=80, pulse=90)
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    # usage: 3/4 as above. pulse (present 3 times): churned 70 vs renewed 30, 90 → 1/2.
    assert [(m["key"], m["auc"], m["present"]) for m in report["measures"]] == [
        ("usage", 0.75, 4),
        ("pulse", 0.5, 3),
    ]
    # overall: 0.6·20 + 0.4·70 = 40, 40, 0.6·30 + 0.4·30 = 30, 0.6·80 + 0.4·90 = 84
    # churned 40, 40 vs renewed 30, 84 → 2/4.
    assert report["auc"] == 0.5


def test_scorecard_backtest_holds_out_the_latest_outcomes(renewals_scorecard):
    for month, (outcome, usage) in enumerate(
        [
            ("churned", 20),
            ("renewed", 30),
            ("churned", 40),
            ("renewed", 80),
            ("churned", 90),
            ("renewed", 10),
            ("renewed", 60),
        ],
        start=1,
    ):
        add_outcome(
            renewals_scorecard,
            outcome=outcome,
            renewal_date=dt.date(2026, month, 28),
            usage=usage,
        )
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    # 7 · 0.3 → 2 held out: June (renewed 10) and July (renewed 60) — no churn in them.
    assert (report["holdout_size"], report["train_size"]) == (2, 5)
    assert report["auc_holdout"] is None
    # Training: churned 20, 40, 90 vs renewed 30, 80 → (20: 2) + (40: 1) + (90: 0) = 3/6.
    assert report["auc_train"] == 0.5
    assert [b["accounts"] for b in report["bands_holdout"]] == [1, 1, 0]


def test_scorecard_backtest_without_outcomes(renewals_scorecard):
    report = backtest.scorecard_backtest(scorecard=renewals_scorecard)
    assert (report["n_outcomes"], report["churn_rate"], report["auc"]) == (0, None, None)


def test_scorecard_backtest_reads_in_a_fixed_number_of_queries(renewals_scorecard):
    _four_outcomes(renewals_scorecard)
    with CaptureQueriesContext(connection) as few:
        backtest.scorecard_backtest(scorecard=renewals_scorecard)
    for _ in range(6):
        add_outcome(renewals_scorecard, outcome="renewed", usage=50, pulse=50)
    with CaptureQueriesContext(connection) as more:
        backtest.scorecard_backtest(scorecard=renewals_scorecard)
    assert len(more) == len(few)


@pytest.mark.parametrize("horizon_days", [90])
def test_backtest_sample_load_one_pseudo_account_per_outcome(renewals_scorecard, horizon_days):
    _four_outcomes(renewals_scorecard)
    sample = backtest.backtest_sample_load(scorecard=renewals_scorecard, horizon_days=horizon_days)
    assert sample.as_of == dt.date(2026, 4, 1)
    assert sorted(sample.values["account_id"]) == sorted(sample.outcomes["outcome_id"])
