"""The optimizer service and `manage.py optimize_scorecard` on hand-built portfolios."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import RenewalOutcome
from scorecards.learning import backtest
from scorecards.learning.maths import InsufficientOutcomes
from scorecards.models import ScorecardDraft
from tests.learning.conftest import add_outcome, separable_portfolio


def test_scorecard_optimize_gives_the_separating_measure_the_largest_weight(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    report = backtest.scorecard_optimize(scorecard=renewals_scorecard)
    weights = report["suggested"]["weights"]
    assert max(weights, key=weights.get) == "usage"
    # pulse has nothing to do with churn: a small weight (under 5 % of the total).
    assert weights["pulse"] < 5


def test_scorecard_optimize_group_weights_are_the_sums_of_their_measures(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    suggested = backtest.scorecard_optimize(scorecard=renewals_scorecard)["suggested"]
    # One measure per group: each group weighs what its measure does.
    assert suggested["group_weights"] == {
        "Outcomes": suggested["weights"]["usage"],
        "Experience": suggested["weights"]["pulse"],
    }


def test_scorecard_optimize_reports_held_out_auc_of_both(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    report = backtest.scorecard_optimize(scorecard=renewals_scorecard)
    assert (report["n_outcomes"], report["holdout_size"], report["train_size"]) == (30, 9, 21)
    # usage alone separates churn perfectly; the suggestion ranks by it (≈95 % of the weight).
    assert report["suggested"]["auc_holdout"] == 1.0
    assert report["suggested"]["auc"] == 1.0
    # Current weights (0.6·usage + 0.4·pulse) mix in the unrelated pulse: over all 30 one
    # churned account outranks a renewed one.
    assert report["current"]["auc"] < 1.0
    assert [m["current_weight"] for m in report["measures"]] == [60.0, 40.0]


def test_scorecard_optimize_never_fits_on_the_held_out_outcomes(renewals_scorecard):
    outcomes = separable_portfolio(renewals_scorecard)
    before = backtest.scorecard_optimize(scorecard=renewals_scorecard)
    # Turn every held-out outcome (the 9 latest) around: the fit must not notice.
    for outcome in outcomes[21:]:
        flipped = "renewed" if outcome.outcome == "churned" else "churned"
        RenewalOutcome.objects.filter(pk=outcome.pk).update(outcome=flipped)
    after = backtest.scorecard_optimize(scorecard=renewals_scorecard)
    assert after["suggested"]["weights"] == before["suggested"]["weights"]
    assert after["suggested"]["auc_holdout"] == 0.0  # it is evaluated on them, though


def test_scorecard_optimize_refuses_too_few_outcomes(renewals_scorecard):
    separable_portfolio(renewals_scorecard, count=20)  # 14 before the held-out part
    with pytest.raises(InsufficientOutcomes, match="14 scored outcomes"):
        backtest.scorecard_optimize(scorecard=renewals_scorecard)


def test_optimize_scorecard_command_json(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    out = StringIO()
    call_command("optimize_scorecard", "Renewals", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["n_outcomes"], report["churn_rate"], report["holdout_size"]) == (30, 0.4, 9)
    assert set(report["current"]) >= {"auc", "auc_holdout", "bands"}
    assert set(report["current"]["bands"][0]) >= {"label", "accounts", "churn_rate", "lift"}
    assert set(report["suggested"]) >= {"weights", "auc_holdout"}
    assert [(m["key"], m["auc"]) for m in report["measures"]][0] == ("usage", 1.0)
    assert ScorecardDraft.objects.count() == 0  # a suggestion changes nothing by itself


def test_optimize_scorecard_command_horizon(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    out = StringIO()
    # Values are 105 days before each renewal: scored 120 days ahead, nothing is known.
    with pytest.raises(CommandError, match="0 scored outcomes"):
        call_command("optimize_scorecard", "Renewals", "--horizon-days", "120", stdout=out)


def test_optimize_scorecard_command_draft(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    out = StringIO()
    call_command("optimize_scorecard", "Renewals", "--draft", stdout=out)
    draft = ScorecardDraft.objects.get()
    assert draft.source == ScorecardDraft.Source.OPTIMIZER
    assert f"Saved as draft {draft.pk}." in out.getvalue()
    assert "AUC, held out" in out.getvalue()


def test_optimize_scorecard_command_unknown_scorecard(db):
    with pytest.raises(CommandError, match="No scorecard named “Nope”. Scorecards: “Standard B2B”"):
        call_command("optimize_scorecard", "Nope")


def test_optimize_scorecard_command_too_few_outcomes(renewals_scorecard):
    add_outcome(renewals_scorecard, outcome="churned", usage=20)
    with pytest.raises(CommandError, match="“Renewals”: Too few renewal outcomes to learn from"):
        call_command("optimize_scorecard", "Renewals")
