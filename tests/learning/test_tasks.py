"""Backtest runs in a worker: enqueued on commit, progress on the row, safe to run twice."""

from scorecards.learning import runs
from scorecards.learning import tasks as learning_tasks
from scorecards.models import BacktestRun
from tests.learning.conftest import add_outcome, separable_portfolio


def test_backtest_run_start_enqueues_on_commit(
    renewals_scorecard, django_capture_on_commit_callbacks
):
    separable_portfolio(renewals_scorecard)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = runs.backtest_run_start(scorecard=renewals_scorecard)
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert (run.status, run.progress, run.stage) == (BacktestRun.Status.FINISHED, 100, "Done")
    assert run.result["suggested"]["auc_holdout"] == 1.0
    assert run.result["n_outcomes"] == 30


def test_backtest_run_execute_twice_runs_once(renewals_scorecard):
    separable_portfolio(renewals_scorecard)
    run = BacktestRun.objects.create(scorecard=renewals_scorecard)
    learning_tasks.backtest_run_execute(run.pk)
    finished_at = BacktestRun.objects.get(pk=run.pk).finished_at
    learning_tasks.backtest_run_execute(run.pk)
    assert BacktestRun.objects.get(pk=run.pk).finished_at == finished_at


def test_backtest_run_execute_with_too_few_outcomes_keeps_the_backtest(renewals_scorecard):
    add_outcome(renewals_scorecard, outcome="churned", usage=20)
    add_outcome(renewals_scorecard, outcome="renewed", usage=80)
    run = BacktestRun.objects.create(scorecard=renewals_scorecard)
    run = runs.backtest_run_execute(run=run)
    assert run.status == BacktestRun.Status.FINISHED
    assert (run.result["auc"], run.result["suggested"]) == (1.0, None)
    assert run.result["message"].startswith("Too few renewal outcomes to learn from: 1 scored")
