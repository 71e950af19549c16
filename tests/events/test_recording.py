"""Events are recorded where things happen, in the same transaction (the outbox)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction

from events import services
from events.choices import EventType
from events.models import Delivery, Event
from risk import services as risk_services
from risk.choices import RiskType
from scorecards.models import Scorecard, ScoreRun, ScoreRunBandMove
from scorecards.services import score_events, scoring
from scorecards.services.versions import scorecard_version_create
from tests.accounts.factories import AccountFactory
from tests.risk.conftest import rule_set, rules_only, sentiment
from tests.scorecards.factories import (
    BandFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
)

pytestmark = pytest.mark.django_db

DAY_1 = dt.date(2026, 11, 20)
DAY_2 = dt.date(2026, 11, 21)


def test_event_recorded_in_a_rolled_back_transaction_is_never_there(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={})
        transaction.set_rollback(True)
    assert (Event.objects.count(), callbacks) == (0, [])


def test_event_committed_is_fanned_out_on_commit(django_capture_on_commit_callbacks):
    endpoint = services.webhook_endpoint_create(url="http://127.0.0.1:9/hook").endpoint
    with django_capture_on_commit_callbacks() as callbacks:
        recorded = services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={})
    assert Delivery.objects.count() == 0
    callbacks[0]()  # the fan-out task, inline
    assert list(Delivery.objects.values_list("event_id", "endpoint_id", "status")) == [
        (recorded.pk, endpoint.pk, "pending")
    ]


def test_event_record_adds_the_account_and_its_page(settings):
    settings.SITE_URL = "https://hs.example.com/"
    account = AccountFactory(external_id="ACME-1", name="Acme", arr=Decimal("1200.50"))
    recorded = services.event_record(
        event_type=EventType.TASK_OVERDUE, account=account, data={"task": {"title": "Call"}}
    )
    assert recorded.data == {
        "task": {"title": "Call"},
        "account": {
            "id": account.pk,
            "external_id": "ACME-1",
            "name": "Acme",
            "owner_email": account.owner.email,
            "arr": 1200.5,
        },
        "url": f"https://hs.example.com/accounts/{account.pk}/",
    }
    assert (recorded.segment, recorded.owner_id) == ("Mid-Market", account.owner_id)


# --- Scores ---------------------------------------------------------------------------------


@pytest.fixture
def scorecard(db):
    """Outcomes (60): m1 weight 30, m2 weight 10; Experience (40): m3 weight 1; all direct.
    Bands Red 0 / Yellow 50 / Green 75, for the Enterprise segment."""
    card = ScorecardFactory(name="Enterprise", priority=1, segments=["Enterprise"])
    for label, low, color in (
        ("Red", 0, "#c0392b"),
        ("Yellow", 50, "#f1c40f"),
        ("Green", 75, "#27ae60"),
    ):
        BandFactory(scorecard=card, label=label, min_score=Decimal(low), color=color)
    outcomes = MeasureGroupFactory(scorecard=card, name="Outcomes", weight=60, position=0)
    experience = MeasureGroupFactory(scorecard=card, name="Experience", weight=40, position=1)
    return card, {
        "m1": ScorecardMeasureFactory(group=outcomes, measure__key="m1", weight=30).measure,
        "m2": ScorecardMeasureFactory(group=outcomes, measure__key="m2", weight=10).measure,
        "m3": ScorecardMeasureFactory(group=experience, measure__key="m3", weight=1).measure,
    }


def values(account, measures, as_of, **raw_by_key):
    for key, raw in raw_by_key.items():
        MeasureValueFactory(
            account=account, measure=measures[key], raw_value=raw, score=raw, as_of=as_of
        )


def run(as_of):
    return scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=as_of))


def test_band_change_recorded_with_from_to_and_what_changed(scorecard, settings):
    settings.SITE_URL = "https://hs.example.com"
    _, measures = scorecard
    account = AccountFactory(segment="Enterprise", name="Acme")
    values(account, measures, DAY_1, m1=80, m2=40, m3=90)  # 78.00, Green
    run(DAY_1)
    values(account, measures, DAY_2, m1=20, m3=30)
    second = run(DAY_2)
    # Outcomes (30·20 + 10·40) / 40 = 25, Experience 30: 0.6·25 + 0.4·30 = 27.00, Red.
    # m1: 0.6·30/40·20 = 9.00 (was 36.00) → −27.00; m3: 0.4·30 = 12.00 (was 36.00) → −24.00;
    # m2 unchanged (6.00) is left out.
    [move] = Event.objects.filter(event_type=EventType.SCORE_BAND_CHANGED)
    data = move.data
    assert (data["from"], data["to"]) == (
        {"band": "Green", "overall": 78.0, "date": "2026-11-20", "color": "#27ae60"},
        {"band": "Red", "overall": 27.0, "date": "2026-11-21", "color": "#c0392b"},
    )
    assert data["changes"] == [
        {"measure": "m1", "name": "M1", "points": -27.0},
        {"measure": "m3", "name": "M3", "points": -24.0},
    ]
    assert (data["url"], data["account"]["name"]) == (
        f"https://hs.example.com/accounts/{account.pk}/",
        "Acme",
    )
    assert (move.score_run_id, move.is_in_digest) == (second.pk, True)


@pytest.fixture
def tasks_on_a_worker():
    """Tasks as with REDIS_URL: handed to a worker after commit, not run inline."""
    from healthscore.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_band_moves_staged_in_the_run_and_recorded_after_it_commits(
    scorecard, tasks_on_a_worker, django_capture_on_commit_callbacks
):
    _, measures = scorecard
    account = AccountFactory(segment="Enterprise")
    values(account, measures, DAY_1, m1=80, m2=40, m3=90)  # 78.00, Green
    first = run(DAY_1)
    values(account, measures, DAY_2, m1=20, m3=30)  # 27.00, Red
    with django_capture_on_commit_callbacks() as callbacks:  # not executed: no worker here
        second = run(DAY_2)
    # The run published its scores with one move staged and no event made yet.
    assert second.events_recorded_at is None
    assert list(second.band_moves.values_list("account_id", "from_band", "from_overall")) == [
        (account.pk, "Green", Decimal("78.00"))
    ]
    assert not Event.objects.filter(score_run_id=second.pk).exists()
    assert len(callbacks) >= 1  # the recording task, sent on commit

    for run_ in (first, second):  # as the worker would, for each run
        score_events.score_run_events_record(run=run_)
    score_events.score_run_events_record(run=second)  # a retried task records nothing more

    [move] = Event.objects.filter(event_type=EventType.SCORE_BAND_CHANGED)
    assert (move.data["from"]["band"], move.data["to"]["band"]) == ("Green", "Red")
    assert move.created_at == ScoreRun.objects.get(pk=second.pk).finished_at
    assert Event.objects.filter(event_type=EventType.SCORE_RUN_FINISHED).count() == 2
    assert not ScoreRunBandMove.objects.exists()


def test_band_moves_read_the_same_with_plain_joins_as_with_lateral(
    scorecard, tasks_on_a_worker, django_capture_on_commit_callbacks
):
    """SQLite (the embedded default) has no LATERAL: the plain joins it reads the staged
    moves with must give what PostgreSQL's query gives (both run here on PostgreSQL)."""
    _, measures = scorecard
    moved, kept = AccountFactory(segment="Enterprise"), AccountFactory(segment="Enterprise")
    for account in (moved, kept):
        values(account, measures, DAY_1, m1=80, m2=40, m3=90)  # 78.00, Green
    run(DAY_1)
    values(moved, measures, DAY_2, m1=20, m3=30)  # 27.00, Red
    with django_capture_on_commit_callbacks():
        second = run(DAY_2)
    on_postgresql = connection.vendor == "postgresql"
    read = {}
    for name in ("BAND_MOVES_SQL_ELSEWHERE", "BAND_MOVES_SQL")[: 2 if on_postgresql else 1]:
        with connection.cursor() as cursor:
            cursor.execute(getattr(score_events, name), [second.pk])
            read[name] = cursor.fetchall()
    moves = [row[:3] for row in read["BAND_MOVES_SQL_ELSEWHERE"]]
    assert moves == [(moved.pk, "Green", Decimal("78.00"))]
    if on_postgresql:
        assert read["BAND_MOVES_SQL_ELSEWHERE"] == read["BAND_MOVES_SQL"]


def test_healing_records_the_events_of_a_run_whose_task_was_lost(
    scorecard, tasks_on_a_worker, django_capture_on_commit_callbacks
):
    _, measures = scorecard
    account = AccountFactory(segment="Enterprise")
    values(account, measures, DAY_1, m1=80, m2=40, m3=90)
    with django_capture_on_commit_callbacks():  # the task is lost: never executed
        lost = run(DAY_1)
    finished_at = ScoreRun.objects.get(pk=lost.pk).finished_at

    too_soon = score_events.score_runs_events_heal(
        after_seconds=60, now=finished_at + dt.timedelta(seconds=30)
    )
    healed = score_events.score_runs_events_heal(
        after_seconds=60, now=finished_at + dt.timedelta(seconds=61)
    )
    again = score_events.score_runs_events_heal(
        after_seconds=60, now=finished_at + dt.timedelta(seconds=120)
    )

    assert (too_soon, healed, again) == ([], [lost.pk], [])
    assert Event.objects.filter(event_type=EventType.SCORE_RUN_FINISHED).count() == 1


def test_band_change_not_recorded_across_scorecard_versions(scorecard):
    card, measures = scorecard
    account = AccountFactory(segment="Enterprise")
    values(account, measures, DAY_1, m1=80, m2=40, m3=90)
    run(DAY_1)
    Scorecard.objects.filter(pk=card.pk).update(version=2)  # a new version was published
    values(account, measures, DAY_2, m1=20, m3=30)
    run(DAY_2)
    assert Event.objects.filter(event_type=EventType.SCORE_BAND_CHANGED).count() == 0


def test_score_run_finished_recorded_for_a_full_run(scorecard):
    _, measures = scorecard
    account = AccountFactory(segment="Enterprise")
    values(account, measures, DAY_1, m1=80, m2=40, m3=90)
    first = run(DAY_1)
    finished = Event.objects.get(event_type=EventType.SCORE_RUN_FINISHED)
    assert finished.data["run"] == {
        "id": first.pk,
        "as_of": "2026-11-20",
        "is_full": True,
        "accounts_total": 1,
        "accounts_scored": 1,
        "accounts_not_scored": 0,
        "accounts_failed": 0,
        "band_changes": 0,
    }
    # A run of ten days ago is a backfill: no digest.
    assert (finished.score_run_id, finished.is_in_digest) == (first.pk, False)


def test_score_run_of_one_account_records_no_run_event(scorecard):
    _, measures = scorecard
    account = AccountFactory(segment="Enterprise")
    values(account, measures, DAY_1, m1=80, m2=40, m3=90)
    scoring.account_rescore(account=account, as_of=DAY_1)
    assert Event.objects.filter(event_type=EventType.SCORE_RUN_FINISHED).count() == 0


def test_scorecard_version_records_scorecard_published(scorecard):
    card, _ = scorecard
    version = scorecard_version_create(scorecard=card, user=None, note="First weights.")
    [published] = Event.objects.filter(event_type=EventType.SCORECARD_PUBLISHED)
    assert published.data["scorecard"] == {
        "id": card.pk,
        "name": "Enterprise",
        "version": version.number,
        "note": "First weights.",
        "published_by": None,
    }


# --- Risks ----------------------------------------------------------------------------------

AS_OF = dt.date(2026, 11, 20)


def risk_events(event_type):
    return list(
        Event.objects.filter(event_type=event_type)
        .order_by("pk")
        .values_list("severity", "data__risk__type", "data__risk__status")
    )


def test_risk_opened_recorded_by_the_evaluation(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    [opened] = Event.objects.filter(event_type=EventType.RISK_OPENED)
    risk = account.risks.get()
    assert opened.data["risk"] == {
        "id": risk.pk,
        "type": "low_sentiment",
        "label": "Low sentiment",
        "severity": "high",
        "status": "open",
        "evidence": risk.evidence,
        "opened_at": risk.opened_at.isoformat(),
    }
    assert (opened.severity, opened.account_id, risk.evidence["as_of"]) == (
        "high",
        account.pk,
        "2026-11-20",
    )


def test_risk_escalated_recorded_when_severity_rises(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    sentiment(account, 0, as_of=AS_OF + dt.timedelta(days=1))
    risk_services.risks_evaluate(as_of=AS_OF + dt.timedelta(days=1))
    [escalated] = Event.objects.filter(event_type=EventType.RISK_ESCALATED)
    assert (escalated.severity, escalated.data["risk"]["previous_severity"]) == ("critical", "high")


def test_risk_raised_again_at_the_same_severity_records_nothing_new(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    risk_services.risks_evaluate(as_of=AS_OF + dt.timedelta(days=1))
    assert list(Event.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "risk.opened"
    ]


def test_risk_resolved_automatically_recorded(account):
    rules_only(RiskType.LOW_SENTIMENT)
    rule_set(RiskType.LOW_SENTIMENT, auto_resolve=True)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    sentiment(account, 75, as_of=AS_OF + dt.timedelta(days=1))
    risk_services.risks_evaluate(as_of=AS_OF + dt.timedelta(days=1))
    assert risk_events(EventType.RISK_RESOLVED) == [("high", "low_sentiment", "resolved")]


def test_risk_resolved_by_a_person_recorded(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    risk = account.risks.get()
    risk_services.risk_transition(risk=risk, to_status="resolved", user=csm, note="Called them.")
    assert risk_events(EventType.RISK_RESOLVED) == [("high", "low_sentiment", "resolved")]


def test_risk_closed_as_wont_fix_records_no_resolved_event(account, csm):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    risk = account.risks.get()
    risk_services.risk_transition(risk=risk, to_status="wont_fix", user=csm, note="Known.")
    assert risk_events(EventType.RISK_RESOLVED) == []
