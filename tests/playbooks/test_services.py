"""Playbooks make tasks from risks; tasks are done or skipped once; the first task done moves
its risk to mitigating; overdue tasks are recorded once."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from playbooks import selectors, services
from playbooks.models import Playbook, PlaybookStep, Task
from risk import services as risk_services
from risk.choices import RiskType
from tests.accounts.factories import AccountFactory, UserFactory
from tests.risk.conftest import AS_OF, open_risks, rules_only, sentiment
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def today_is_as_of():
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def only_playbook(risk_type: str, *steps, min_severity: str = "", segments=()) -> Playbook:
    """Replace the default playbooks with one of `risk_type` and these (title, days, assignee)."""
    Playbook.objects.all().delete()
    return services.playbook_save(
        name=f"{risk_type} playbook",
        risk_type=risk_type,
        min_severity=min_severity,
        segments=list(segments),
        steps=[
            {"title": title, "due_in_days": days, "assignee": assignee}
            for title, days, assignee in steps
        ],
    )


def test_default_playbooks_cover_the_nine_risk_types():
    assert sorted(Playbook.objects.values_list("risk_type", flat=True)) == sorted(RiskType.values)


def test_default_low_sentiment_playbook_steps():
    playbook = Playbook.objects.get(risk_type="low_sentiment")
    steps = playbook.steps.order_by("position").values_list("title", "due_in_days", "assignee")
    assert list(steps) == [
        ("Call the sponsor", 2, "owner"),
        ("Agree a recovery plan", 7, "owner"),
        ("Leader review of the plan", 14, "leader"),
    ]


def test_a_risk_opening_gets_one_task_per_step_with_due_dates_and_assignees(account, csm):
    leader = UserFactory(username="lead", role="CS Leader")
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    tasks = Task.objects.order_by("due_on").values_list("title", "due_on", "assignee_id", "risk_id")
    risk = open_risks(account)[0]
    assert list(tasks) == [
        ("Call the sponsor", dt.date(2026, 11, 22), csm.pk, risk.pk),
        ("Agree a recovery plan", dt.date(2026, 11, 27), csm.pk, risk.pk),
        ("Leader review of the plan", dt.date(2026, 12, 4), leader.pk, risk.pk),
    ]


def test_raising_the_same_risk_again_makes_no_new_task(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    risk_services.risks_evaluate(as_of=AS_OF + dt.timedelta(days=1))
    assert Task.objects.count() == 3


def test_min_severity_makes_tasks_only_when_the_risk_rises_to_it(account):
    only_playbook("low_sentiment", ("Escalate", 1, "owner"), min_severity="critical")
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)  # high
    risk_services.risks_evaluate(as_of=AS_OF)
    before = Task.objects.count()
    sentiment(account, 0, as_of=AS_OF + dt.timedelta(days=1))  # critical
    risk_services.risks_evaluate(as_of=AS_OF + dt.timedelta(days=1))
    assert (before, list(Task.objects.values_list("title", flat=True))) == (0, ["Escalate"])


def test_segments_limit_a_playbook_to_their_accounts():
    only_playbook("no_sponsor", ("Find a sponsor", 5, "owner"), segments=["Enterprise"])
    enterprise = AccountFactory(segment="Enterprise")
    AccountFactory(segment="SMB")
    rules_only(RiskType.NO_SPONSOR)
    risk_services.risks_evaluate(as_of=AS_OF)
    assert list(Task.objects.values_list("account_id", flat=True)) == [enterprise.pk]


def test_the_database_refuses_a_second_task_for_the_same_step_and_risk():
    playbook = only_playbook("low_sentiment", ("Call", 2, "owner"))
    risk = RiskFactory()
    step = playbook.steps.get()
    fields = {"account": risk.account, "risk": risk, "step": step, "due_on": TODAY}
    Task.objects.create(title="Call", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(title="Call again", **fields)


def test_tasks_create_for_risks_twice_keeps_one_task_per_step():
    only_playbook("low_sentiment", ("Call", 2, "owner"), ("Plan", 7, "owner"))
    risk = RiskFactory()
    services.tasks_create_for_risks(risk_ids=[risk.pk])
    services.tasks_create_for_risks(risk_ids=[risk.pk])
    assert sorted(Task.objects.values_list("title", flat=True)) == ["Call", "Plan"]


def test_a_step_due_in_negative_days_is_refused_and_nothing_written():
    Playbook.objects.all().delete()
    with pytest.raises(ValidationError) as refused:
        services.playbook_save(
            name="Bad",
            risk_type="no_sponsor",
            steps=[{"title": "A", "due_in_days": 1}, {"title": "B", "due_in_days": -2}],
        )
    assert (list(refused.value.message_dict), Playbook.objects.count()) == (
        ["steps.1.due_in_days"],
        0,
    )


def test_playbook_save_keeps_step_ids_by_position_and_drops_extra_steps():
    playbook = only_playbook("no_sponsor", ("A", 1, "owner"), ("B", 2, "owner"))
    first = playbook.steps.order_by("position")[0].pk
    services.playbook_save(
        playbook=playbook,
        name=playbook.name,
        risk_type="no_sponsor",
        steps=[{"title": "A2", "due_in_days": 3}],
    )
    assert list(PlaybookStep.objects.values_list("pk", "title", "due_in_days")) == [
        (first, "A2", 3)
    ]


@pytest.fixture
def risk_with_tasks(account):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    risk_services.risks_evaluate(as_of=AS_OF)
    return open_risks(account)[0]


def test_completing_the_first_task_moves_the_risk_to_mitigating(risk_with_tasks, csm):
    task = risk_with_tasks.tasks.order_by("due_on")[0]
    services.task_complete(task=task, user=csm, note="Called Ann.")
    risk_with_tasks.refresh_from_db()
    task.refresh_from_db()
    event = risk_with_tasks.events.order_by("-at", "-id")[0]
    assert (task.status, task.note, task.completed_by, risk_with_tasks.status, event.note) == (
        "done",
        "Called Ann.",
        csm,
        "mitigating",
        "Task done: Call the sponsor.",
    )


def test_a_task_cannot_be_completed_twice(risk_with_tasks, csm):
    task = risk_with_tasks.tasks.order_by("due_on")[0]
    services.task_complete(task=task, user=csm)
    with pytest.raises(services.TaskError) as refused:
        services.task_complete(task=task, user=csm)
    assert (refused.value.code, refused.value.message) == (
        "task_finished",
        "This task is already done.",
    )


def test_skipping_needs_a_note(risk_with_tasks, csm):
    task = risk_with_tasks.tasks.order_by("due_on")[0]
    with pytest.raises(services.TaskError) as refused:
        services.task_skip(task=task, user=csm, note="  ")
    task.refresh_from_db()
    assert (refused.value.code, task.status) == ("note_required", "open")


def test_skipping_does_not_move_the_risk(risk_with_tasks, csm):
    task = risk_with_tasks.tasks.order_by("due_on")[0]
    services.task_skip(task=task, user=csm, note="Sponsor on leave.")
    risk_with_tasks.refresh_from_db()
    assert risk_with_tasks.status == "open"


def test_all_tasks_done_or_skipped_offers_to_resolve(risk_with_tasks, csm):
    tasks = list(risk_with_tasks.tasks.order_by("due_on"))
    services.task_complete(task=tasks[0], user=csm)
    services.task_skip(task=tasks[1], user=csm, note="Not needed.")
    before = selectors.risk_tasks_all_finished(risk=risk_with_tasks)
    services.task_complete(task=tasks[2], user=csm)
    assert (before, selectors.risk_tasks_all_finished(risk=risk_with_tasks)) == (False, True)


def test_another_csm_may_not_complete_a_task(risk_with_tasks):
    other = UserFactory(username="other", role="CSM")
    task = risk_with_tasks.tasks.order_by("due_on")[0]
    with pytest.raises(services.PermissionDenied):
        services.task_complete(task=task, user=other)


def test_overdue_tasks_are_recorded_once(risk_with_tasks):
    # Due 2026-11-22 and 2026-11-27; on 2026-11-28 both are overdue, the third (12-04) not.
    first = services.tasks_overdue_record(today=dt.date(2026, 11, 28))
    second = services.tasks_overdue_record(today=dt.date(2026, 11, 29))
    recorded = Task.objects.filter(overdue_recorded_at__isnull=False).count()
    assert (first, second, recorded) == (2, 0, 2)


def test_my_tasks_lists_overdue_first_then_due_this_week(csm):
    account = AccountFactory(owner=csm)
    risk = RiskFactory(account=account)
    for title, due in [("later", 12), ("week", 3), ("overdue", -2), ("today", 0)]:
        Task.objects.create(
            account=account,
            risk=risk,
            title=title,
            due_on=TODAY + dt.timedelta(days=due),
            assignee=csm,
        )
    tasks, total = selectors.tasks_mine(user=csm, today=TODAY)
    assert ([task.title for task in tasks], total) == (["overdue", "today", "week"], 3)


def test_tasks_of_a_closed_risk_leave_my_tasks_and_are_not_recorded_overdue(risk_with_tasks, csm):
    risk_services.risk_transition(
        risk=risk_with_tasks, to_status="wont_fix", user=csm, note="Customer churning anyway."
    )
    tasks, total = selectors.tasks_mine(user=csm, today=dt.date(2026, 11, 28))
    recorded = services.tasks_overdue_record(today=dt.date(2026, 11, 28))
    assert (tasks, total, recorded) == ([], 0, 0)
