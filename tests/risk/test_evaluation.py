"""How an evaluation writes: one open risk per account and type, updates, clearing,
auto-resolve, won't fix, scope, and reads that do not grow with the portfolio."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from risk import services
from risk.choices import RiskType
from risk.models import Risk, RiskEvent
from scorecards.services import scoring
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.risk.conftest import AS_OF, open_risks, rule_set, rules_only, sentiment, snapshot
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db

NEXT_DAY = AS_OF + dt.timedelta(days=1)


def evaluate(as_of: dt.date = AS_OF, **kwargs):
    return services.risks_evaluate(as_of=as_of, **kwargs)


def test_risks_evaluate_opens_a_risk_with_its_history_and_owner(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC), tick=False):
        evaluate()
    [risk] = open_risks(account)
    assert (risk.status, risk.owner, risk.opened_at) == (
        "open",
        csm,
        dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC),
    )
    assert list(
        risk.events.order_by("pk").values_list("from_status", "to_status", "note", "by")
    ) == [("", "open", "Raised by rule:low_sentiment.", None)]


def test_risks_evaluate_again_updates_rather_than_duplicates(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    evaluate(NEXT_DAY)
    [risk] = open_risks(account)
    assert (Risk.objects.count(), risk.evidence["as_of"], risk.events.count()) == (
        1,
        "2026-11-21",
        1,
    )


def test_risks_evaluate_counts_the_open_risks_afterwards(account, csm):
    rules_only(RiskType.SPONSOR_LEFT)
    ContactFactory(account=account, role="executive_sponsor", is_active=False, left_on=AS_OF)
    evaluate()
    second = evaluate(NEXT_DAY)
    assert (dict(second.firing), dict(second.open)) == ({}, {"sponsor_left": 1})


def test_risks_evaluate_counts_raised_and_updated(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    first = evaluate()
    second = evaluate(NEXT_DAY)
    assert (dict(first.raised), dict(first.updated)) == ({"low_sentiment": 1}, {})
    assert (dict(second.raised), dict(second.updated)) == ({}, {"low_sentiment": 1})


def test_risks_evaluate_updates_the_severity(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    sentiment(account, 0, as_of=NEXT_DAY)
    evaluate(NEXT_DAY)
    [risk] = open_risks(account)
    assert (risk.severity, risk.evidence["sentiment_score"]) == ("critical", 0.0)
    assert list(risk.events.order_by("pk").values_list("to_status", "note")) == [
        ("open", "Raised by rule:low_sentiment."),
        ("open", "Severity high → critical (rule:low_sentiment)."),
    ]


def test_risks_evaluate_updates_an_acknowledged_risk(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    services.risk_transition(risk=open_risks(account)[0], to_status="acknowledged", user=csm)
    evaluate(NEXT_DAY)
    [risk] = open_risks(account)
    assert (Risk.objects.count(), risk.status, risk.evidence["as_of"]) == (
        1,
        "acknowledged",
        "2026-11-21",
    )


def test_condition_cleared_is_recorded_without_auto_resolve(account):
    rules_only(RiskType.LOW_SENTIMENT)  # auto_resolve off by default
    sentiment(account, 25)
    evaluate()
    sentiment(account, 75, as_of=NEXT_DAY)
    with time_machine.travel(dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC), tick=False):
        evaluation = evaluate(NEXT_DAY)
    [risk] = open_risks(account)
    assert (risk.status, risk.condition_cleared_at, risk.resolved_at) == (
        "open",
        dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC),
        None,
    )
    assert (dict(evaluation.cleared), dict(evaluation.resolved)) == ({"low_sentiment": 1}, {})


def test_condition_cleared_resolves_the_risk_with_auto_resolve(account):
    rules_only(RiskType.LOW_SENTIMENT)
    rule_set(RiskType.LOW_SENTIMENT, auto_resolve=True)
    sentiment(account, 25)
    evaluate()
    sentiment(account, 75, as_of=NEXT_DAY)
    with time_machine.travel(dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC), tick=False):
        evaluate(NEXT_DAY)
    risk = Risk.objects.get(account=account)
    resolved_at = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
    assert (risk.status, risk.resolved_at, risk.condition_cleared_at) == (
        "resolved",
        resolved_at,
        resolved_at,
    )
    assert list(
        risk.events.order_by("pk").values_list("from_status", "to_status", "note", "by")
    ) == [
        ("", "open", "Raised by rule:low_sentiment.", None),
        (
            "open",
            "resolved",
            "Condition cleared: resolved automatically (rule:low_sentiment).",
            None,
        ),
    ]


def test_condition_returning_before_closing_empties_condition_cleared_at(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    sentiment(account, 75, as_of=NEXT_DAY)
    evaluate(NEXT_DAY)
    sentiment(account, 0, as_of=NEXT_DAY + dt.timedelta(days=1))
    evaluate(NEXT_DAY + dt.timedelta(days=1))
    [risk] = open_risks(account)
    assert (Risk.objects.count(), risk.condition_cleared_at) == (1, None)


def test_wont_fix_silences_the_rule_while_its_condition_holds(account, csm):
    rules_only(RiskType.SINGLE_THREADED)
    evaluate()
    services.risk_transition(
        risk=open_risks(account)[0], to_status="wont_fix", user=csm, note="A one-person shop."
    )
    evaluation = evaluate(NEXT_DAY)
    assert (open_risks(account), dict(evaluation.silenced)) == ([], {"single_threaded": 1})


def test_wont_fix_silences_until_the_condition_clears_and_returns(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    evaluate()
    services.risk_transition(
        risk=open_risks(account)[0], to_status="wont_fix", user=csm, note="Known."
    )
    sentiment(account, 75, as_of=NEXT_DAY)
    evaluate(NEXT_DAY)
    sentiment(account, 0, as_of=NEXT_DAY + dt.timedelta(days=1))
    evaluate(NEXT_DAY + dt.timedelta(days=1))
    assert [risk.severity for risk in open_risks(account)] == ["critical"]


def test_risks_evaluate_for_some_accounts_leaves_the_others_alone(account):
    rules_only(RiskType.NO_SPONSOR)
    other = AccountFactory()
    other_risk = RiskFactory(account=other, risk_type="no_sponsor")
    ContactFactory(account=other, role="executive_sponsor")  # its condition cleared
    evaluate(account_ids=[account.pk])
    other_risk.refresh_from_db()
    assert ([r.risk_type for r in open_risks(account)], other_risk.condition_cleared_at) == (
        ["no_sponsor"],
        None,
    )


def test_risks_evaluate_for_account_evaluates_that_account(account):
    rules_only(RiskType.NO_SPONSOR)
    other = AccountFactory()
    services.risks_evaluate_for_account(account=account, as_of=AS_OF)
    assert (len(open_risks(account)), len(open_risks(other))) == (1, 0)


def test_dry_run_writes_nothing_and_counts_what_it_would_raise(account):
    sponsor_who_left = ContactFactory(
        account=account, role="executive_sponsor", is_active=False, left_on=AS_OF
    )
    evaluation = evaluate(dry_run=True)
    assert dict(evaluation.raised) == {"no_sponsor": 1, "single_threaded": 1, "sponsor_left": 1}
    assert (Risk.objects.count(), RiskEvent.objects.count()) == (0, 0)
    assert sponsor_who_left.changes.count() == 0


def test_risks_evaluate_reads_do_not_grow_with_the_portfolio():
    """Set-based: once the risks exist, evaluating 3 or 12 accounts takes the same queries."""
    rules_only(*RiskType.values)

    def portfolio(size: int) -> None:
        for _ in range(size):
            account = AccountFactory(renewal_date=AS_OF + dt.timedelta(days=30))
            sentiment(account, 0)
            snapshot(account, as_of=AS_OF - dt.timedelta(days=30), overall="80.00", band="Green")
            snapshot(account, overall="40.00", band="Red")

    def queries_of_a_second_evaluation() -> int:
        evaluate()
        with CaptureQueriesContext(connection) as queries:
            evaluate()
        return len(queries)

    portfolio(3)
    small = queries_of_a_second_evaluation()
    portfolio(9)
    # 19: the score_drop comparison reads the window day's snapshots in a query of its own
    # (rule 13: that exact day, like for like); no rescore here, every version is the same.
    assert (small, queries_of_a_second_evaluation()) == (19, 19)


def test_risks_evaluate_for_run_evaluates_a_partial_runs_accounts(account):
    rules_only(RiskType.NO_SPONSOR)
    other = AccountFactory()
    today = timezone.localdate()
    run = scoring.score_run_create(as_of=today, account_ids=[account.pk])
    scoring.score_run_execute_inline(run=run)
    services.risks_evaluate_for_run(run=run)
    assert (len(open_risks(account)), len(open_risks(other))) == (1, 0)


def test_risks_evaluate_for_run_skips_a_backfill(account):
    rules_only(RiskType.NO_SPONSOR)
    run = scoring.score_run_create(as_of=timezone.localdate() - dt.timedelta(days=2))
    scoring.score_run_execute_inline(run=run)
    assert (services.risks_evaluate_for_run(run=run), open_risks(account)) == (None, [])


def test_risks_evaluate_for_run_skips_an_unfinished_run(account):
    run = scoring.score_run_create(as_of=timezone.localdate())
    assert services.risks_evaluate_for_run(run=run) is None


def test_finished_score_run_raises_risks(account, django_capture_on_commit_callbacks):
    """SCORE_RUN_FINISHED_TASKS sends risks_evaluate_after_run once a run has finished."""
    rules_only(RiskType.NO_SPONSOR)
    with django_capture_on_commit_callbacks(execute=True):
        run = scoring.score_run_create(as_of=timezone.localdate())
        scoring.score_run_execute_inline(run=run)
    assert [risk.risk_type for risk in open_risks(account)] == ["no_sponsor"]


def test_risks_opened_in_bulk_are_analysed_in_the_transaction(postgres, csm, monkeypatch):
    """Above BULK_ANALYZE_ROWS new risks, the evaluation refreshes the risk table's
    statistics before the tasks and emails read the risks back: the planner then counts
    the rows it has just written (a first evaluation of 100,000 accounts planned its task
    join on an empty table and took ten times longer)."""
    from risk.services import evaluation

    monkeypatch.setattr(evaluation, "BULK_ANALYZE_ROWS", 2)
    rules_only(RiskType.LOW_SENTIMENT)
    for n in range(3):
        sentiment(AccountFactory(owner=csm, external_id=f"BULK-{n}"), 25)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE risk_risk")  # empty, as before a first evaluation

    evaluate()

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'risk_risk'")
        assert cursor.fetchone()[0] == 3
