"""Writes that follow the playbook rules (PRODUCT.md, "Acting on risks: playbooks and tasks").

- A risk that opens, or rises to a playbook's minimum severity, gets one task per step of each
  active playbook of its type (and of its account's segment, when the playbook names some).
  The database keeps one task per step and risk, so two evaluations raising the same risk at
  once, or a risk raised again, never duplicate a task.
- A task is done (with an optional note) or skipped (with a required note), once.
- The first task done moves its risk to mitigating; when all of a risk's tasks are done or
  skipped the account page offers to resolve it (selectors.risk_tasks_all_finished).
- An open task past its due date is recorded as overdue once (task.overdue).

playbooks sits above risk in the layers: risk's evaluation reaches tasks_create_for_risks
through settings.RISKS_RAISED_HOOKS, by name, as scorecards reaches risk through
SCORE_RUN_FINISHED_TASKS.
"""

import logging
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts import roles
from events.choices import EventType
from events.services import event_record
from healthscore.generations import generation_bump_for
from playbooks.choices import Assignee, TaskStatus
from playbooks.models import Playbook, PlaybookStep, Task
from risk.choices import SEVERITY_LEVEL, UNRESOLVED_STATUSES, RiskStatus
from risk.models import Risk
from risk.services import DomainError, risk_transition
from risk.services.evaluation import BULK_ANALYZE_ROWS

logger = logging.getLogger(__name__)

# Risk ids per query when tasks are made for a big evaluation (far below SQLite's bound
# parameters), and task rows per INSERT.
RISKS_PER_QUERY = 5000
BULK_BATCH_SIZE = 2000

# Besides the account's owner and the task's assignee, these roles may work any task.
TASK_CHANGING_ROLES = frozenset({roles.CS_LEADER, roles.CS_OPS})


class TaskError(DomainError):
    """A task change the rules refuse: completing it twice, skipping it without a note."""

    code = "task_refused"


# --- Playbooks ----------------------------------------------------------------------------------


@transaction.atomic
def playbook_save(
    *,
    playbook: Playbook | None = None,
    name: str,
    risk_type: str,
    min_severity: str = "",
    segments: list[str] | None = None,
    steps: list[dict],
    is_active: bool = True,
) -> Playbook:
    """Create a playbook, or replace `playbook`'s fields and steps. Steps are matched by
    position: the step at a position keeps its id (and so its tasks' link), extra old steps
    are deleted (their tasks stay, without a step). Raises ValidationError, naming the field
    (`steps.1.due_in_days`), for a step due in a negative number of days; nothing is written."""
    if not steps:
        raise ValidationError({"steps": "A playbook has at least one step."})
    for position, fields in enumerate(steps):
        if int(fields["due_in_days"]) < 0:
            raise ValidationError(
                {f"steps.{position}.due_in_days": "A step is due in 0 days or more."}
            )
    playbook = playbook or Playbook()
    playbook.name = name
    playbook.risk_type = risk_type
    playbook.min_severity = min_severity or ""
    playbook.segments = list(segments or [])
    playbook.is_active = is_active
    playbook.full_clean()
    playbook.save()
    existing = list(playbook.steps.order_by("position", "id"))
    for position, fields in enumerate(steps):
        step = existing[position] if position < len(existing) else PlaybookStep(playbook=playbook)
        step.position = position
        step.title = fields["title"]
        step.description = fields.get("description", "")
        step.due_in_days = fields["due_in_days"]
        step.assignee = fields.get("assignee", Assignee.OWNER)
        try:
            step.full_clean()
        except ValidationError as error:
            raise ValidationError(
                {f"steps.{position}.{field}": messages for field, messages in error}
            ) from error
        step.save()
    PlaybookStep.objects.filter(pk__in=[step.pk for step in existing[len(steps) :]]).delete()
    return playbook


# --- Tasks from risks ---------------------------------------------------------------------------


def tasks_create_for_risks(*, risk_ids: list[int], today: date | None = None) -> int:
    """Make the tasks of every active playbook matching each unresolved risk in `risk_ids`
    (those an evaluation opened or whose severity rose): same risk type, severity at least
    the playbook's minimum, account in one of its segments when it names some. Each task is
    due `due_in_days` after `today` and goes to the account's owner or to a CS leader.

    Set-based: one query per RISKS_PER_QUERY risks, inserts of BULK_BATCH_SIZE rows. A task
    that already exists for a step and risk is left alone (the one-per-step-and-risk
    constraint; ON CONFLICT DO NOTHING), so calling it twice, or from two evaluations at once,
    makes each task once. Returns the number of tasks it made on PostgreSQL (one INSERT …
    SELECT per RISKS_PER_QUERY risks), the number it tried to make elsewhere."""
    today = today or timezone.localdate()
    steps_by_type = _active_steps_by_risk_type()
    if not steps_by_type or not risk_ids:
        return 0
    leader_id = _leader_id() if _any_leader_step(steps_by_type) else None
    if connection.vendor == "postgresql":
        inserted = _tasks_insert_select(risk_ids=risk_ids, today=today, leader_id=leader_id)
        generation_bump_for(Task)  # INSERT … SELECT sends no signal
        return inserted
    tasks: list[Task] = []
    for start in range(0, len(risk_ids), RISKS_PER_QUERY):
        rows = Risk.objects.filter(
            pk__in=risk_ids[start : start + RISKS_PER_QUERY],
            risk_type__in=list(steps_by_type),
            status__in=UNRESOLVED_STATUSES,
        ).values_list(
            "pk", "account_id", "risk_type", "severity", "account__segment", "account__owner_id"
        )
        for risk_id, account_id, risk_type, severity, segment, owner_id in rows.iterator():
            for playbook, step in steps_by_type[risk_type]:
                if not _playbook_applies(playbook, severity=severity, segment=segment):
                    continue
                tasks.append(
                    Task(
                        account_id=account_id,
                        risk_id=risk_id,
                        step_id=step.pk,
                        title=step.title,
                        description=step.description,
                        due_on=today + timedelta(days=step.due_in_days),
                        assignee_id=leader_id if step.assignee == Assignee.LEADER else owner_id,
                    )
                )
    Task.objects.bulk_create(tasks, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True)
    generation_bump_for(Task)  # bulk_create sends no signal
    return len(tasks)


# PostgreSQL: one INSERT … SELECT per RISKS_PER_QUERY risks joins the risks with the steps of
# the playbooks that apply, in the database; building a Task object per row in Python cost
# ten times more than the insert itself on a first evaluation of a big portfolio.
_SEVERITY_LEVEL_SQL = (
    "CASE {column} "
    + " ".join(f"WHEN '{severity}' THEN {level}" for severity, level in SEVERITY_LEVEL.items())
    + " END"
)
_TASKS_INSERT_SELECT = f"""
    INSERT INTO playbooks_task
        (account_id, risk_id, step_id, title, description, due_on, assignee_id, status, note,
         created_at)
    SELECT r.account_id, r.id, s.id, s.title, s.description, %(today)s::date + s.due_in_days,
           CASE WHEN s.assignee = %(leader)s THEN %(leader_id)s ELSE a.owner_id END,
           %(open)s, '', %(now)s
    FROM risk_risk r
    JOIN accounts_account a ON a.id = r.account_id
    JOIN playbooks_playbook p ON p.risk_type = r.risk_type AND p.is_active
    JOIN playbooks_playbookstep s ON s.playbook_id = p.id
    WHERE r.id = ANY(%(risk_ids)s)
      AND r.status = ANY(%(unresolved)s)
      AND (p.min_severity = ''
           OR {_SEVERITY_LEVEL_SQL.format(column="r.severity")}
              >= {_SEVERITY_LEVEL_SQL.format(column="p.min_severity")})
      AND (p.segments = '[]'::jsonb OR p.segments ? a.segment)
    ON CONFLICT ON CONSTRAINT playbooks_task_one_per_step_and_risk DO NOTHING
"""


def _tasks_insert_select(*, risk_ids: list[int], today: date, leader_id: int | None) -> int:
    """tasks_create_for_risks on PostgreSQL, in the database. Returns the rows inserted."""
    inserted = 0
    now = timezone.now()
    with connection.cursor() as cursor:
        for start in range(0, len(risk_ids), RISKS_PER_QUERY):
            cursor.execute(
                _TASKS_INSERT_SELECT,
                {
                    "risk_ids": list(risk_ids[start : start + RISKS_PER_QUERY]),
                    "today": today,
                    "leader": Assignee.LEADER.value,
                    "leader_id": leader_id,
                    "open": TaskStatus.OPEN.value,
                    "now": now,
                    "unresolved": [str(status) for status in UNRESOLVED_STATUSES],
                },
            )
            inserted += cursor.rowcount
        if inserted > BULK_ANALYZE_ROWS:
            # As the risks opened in bulk (risk.services.evaluation): the emails that follow
            # read these tasks back.
            cursor.execute(f"ANALYZE {Task._meta.db_table}")
    return inserted


def _active_steps_by_risk_type() -> dict[str, list[tuple[Playbook, PlaybookStep]]]:
    by_type: dict[str, list[tuple[Playbook, PlaybookStep]]] = {}
    steps = PlaybookStep.objects.filter(playbook__is_active=True).select_related("playbook")
    for step in steps.order_by("playbook_id", "position", "id"):
        by_type.setdefault(step.playbook.risk_type, []).append((step.playbook, step))
    return by_type


def _any_leader_step(steps_by_type: dict[str, list[tuple[Playbook, PlaybookStep]]]) -> bool:
    return any(
        step.assignee == Assignee.LEADER for steps in steps_by_type.values() for _, step in steps
    )


def _playbook_applies(playbook: Playbook, *, severity: str, segment: str) -> bool:
    """A playbook applies from its minimum severity up, and to its segments (all if none)."""
    if playbook.min_severity and SEVERITY_LEVEL[severity] < SEVERITY_LEVEL[playbook.min_severity]:
        return False
    return not playbook.segments or segment in playbook.segments


def _leader_id() -> int | None:
    """The CS leader who gets the leader steps: accounts carry no team, so the first active
    CS leader (by id) stands for "the leader"."""
    return (
        get_user_model()
        .objects.filter(groups__name=roles.CS_LEADER, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


# --- Working a task -----------------------------------------------------------------------------


def task_can_change(user: AbstractBaseUser | AnonymousUser, task: Task) -> bool:
    """The account's owner, the task's assignee, a CS leader, CS Ops or a superuser."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or roles.user_roles(user) & TASK_CHANGING_ROLES:
        return True
    return user.pk in (task.account.owner_id, task.assignee_id)


@transaction.atomic
def task_complete(*, task: Task, user: AbstractBaseUser, note: str = "") -> Task:
    """Mark an open task done, with an optional note. The first task done on a risk that is
    open or acknowledged moves the risk to mitigating (a RiskEvent by the same user).
    Raises TaskError when the task is already done or skipped, PermissionDenied for a user
    who may not change it."""
    task = _task_finish(task=task, user=user, status=TaskStatus.DONE, note=note)
    risk_mitigate_on_first_task_done(risk=task.risk, user=user, task=task)
    return task


@transaction.atomic
def task_skip(*, task: Task, user: AbstractBaseUser, note: str) -> Task:
    """Skip an open task; the note (why) is required. Raises TaskError otherwise."""
    if not note.strip():
        raise TaskError("Say why the task is skipped.", code="note_required")
    return _task_finish(task=task, user=user, status=TaskStatus.SKIPPED, note=note)


def _task_finish(*, task: Task, user: AbstractBaseUser, status: str, note: str) -> Task:
    if not task_can_change(user, task):
        raise PermissionDenied("Only the account's owner, a CS leader or CS Ops work its tasks.")
    # Conditional update: of two clicks (or two people) only one finishes the task.
    claimed = Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=status, note=note.strip(), completed_at=timezone.now(), completed_by=user
    )
    if not claimed:
        current = Task.objects.get(pk=task.pk)
        raise TaskError(
            f"This task is already {current.get_status_display().lower()}.", code="task_finished"
        )
    generation_bump_for(Task)  # a queryset update sends no signal
    return Task.objects.select_related("risk", "account").get(pk=task.pk)


def risk_mitigate_on_first_task_done(*, risk: Risk, user: AbstractBaseUser, task: Task) -> bool:
    """The first task done shows someone is working the risk: an open or acknowledged risk
    moves to mitigating. Returns whether it moved."""
    if risk.status not in (RiskStatus.OPEN, RiskStatus.ACKNOWLEDGED):
        return False
    risk_transition(
        risk=risk, to_status=RiskStatus.MITIGATING, user=user, note=f"Task done: {task.title}."
    )
    return True


# --- Overdue ------------------------------------------------------------------------------------


def tasks_overdue_record(*, today: date) -> int:
    """Record task.overdue for every open task due before `today` that has not had it yet
    (tasks of a closed risk no longer need doing and are not recorded).
    Each task is claimed with a conditional update first, so a sweep run twice, or two at
    once, records each task once. Returns how many were recorded."""
    candidates = list(
        Task.objects.filter(
            status=TaskStatus.OPEN,
            due_on__lt=today,
            overdue_recorded_at__isnull=True,
            risk__status__in=UNRESOLVED_STATUSES,
        ).values_list("pk", flat=True)
    )
    recorded = 0
    now = timezone.now()
    for task_id in candidates:
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task_id, overdue_recorded_at__isnull=True).update(
                overdue_recorded_at=now
            )
            if claimed:
                task_overdue_record(
                    task=Task.objects.select_related("account", "risk", "assignee").get(pk=task_id)
                )
                recorded += 1
    return recorded


def task_overdue_record(*, task: Task) -> None:
    """The task.overdue event of one task, in the caller's transaction (events/ sends it)."""
    event_record(
        event_type=EventType.TASK_OVERDUE,
        account=task.account,
        severity=task.risk.severity if task.risk_id else None,
        data={
            "task": {
                "id": task.pk,
                "title": task.title,
                "due_on": task.due_on.isoformat(),
                "assignee_email": task.assignee.email if task.assignee_id else None,
                "risk": task.risk_id,
            }
        },
    )
