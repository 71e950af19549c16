"""The work of the day: the dashboard's "My tasks" and risk inbox, an account's tasks, and
open and overdue tasks by CSM for the portfolio."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from accounts.models import Account
from playbooks import selectors as task_selectors
from playbooks import services as playbook_services
from playbooks.models import Task
from risk.choices import UNRESOLVED_STATUSES, Severity
from risk.models import Risk

INBOX_LENGTH = 10


@dataclass(frozen=True)
class TaskLine:
    task: Task
    is_overdue: bool
    may_change: bool


@dataclass(frozen=True)
class MyTasks:
    lines: list[TaskLine]
    total: int


def my_tasks(*, user, today: date) -> MyTasks:
    """The user's open tasks overdue or due within a week, overdue first (two queries)."""
    tasks, total = task_selectors.tasks_mine(user=user, today=today)
    return MyTasks(
        lines=[TaskLine(task=t, is_overdue=t.due_on < today, may_change=True) for t in tasks],
        total=total,
    )


def account_tasks(*, account: Account, user, today: date) -> list[TaskLine]:
    """Every task of the account, open first, with whether the user may work it."""
    return [
        TaskLine(
            task=task,
            is_overdue=task.is_open and task.due_on < today,
            may_change=task.is_open and playbook_services.task_can_change(user, task),
        )
        for task in task_selectors.tasks_for_account(account_id=account.pk)
    ]


@dataclass(frozen=True)
class RiskInbox:
    risks: list[Risk]
    total: int


SEVERITY_ORDER = Case(
    *[
        When(severity=severity, then=Value(rank))
        for rank, severity in enumerate(reversed(Severity))
    ],
    output_field=IntegerField(),
)


def risk_inbox(*, accounts: QuerySet[Account], limit: int = INBOX_LENGTH) -> RiskInbox:
    """Unresolved risks of these accounts, most severe first, then by ARR (largest first),
    then by renewal date (soonest first, none last)."""
    risks = Risk.objects.filter(account__in=accounts, status__in=UNRESOLVED_STATUSES)
    ordered = risks.annotate(severity_rank=SEVERITY_ORDER).order_by(
        "severity_rank",
        F("account__arr").desc(),
        F("account__renewal_date").asc(nulls_last=True),
        "pk",
    )
    return RiskInbox(risks=list(ordered.select_related("account")[:limit]), total=risks.count())


@dataclass(frozen=True)
class CsmTasks:
    name: str
    open: int
    overdue: int


def tasks_by_csm(*, today: date) -> list[CsmTasks]:
    """Open and overdue tasks per assignee, most overdue first (two queries)."""
    counts = task_selectors.tasks_by_assignee(today=today)
    users = get_user_model().objects.filter(pk__in=list(counts))
    names = {user.pk: user.get_full_name() or user.username for user in users}
    rows = [
        CsmTasks(name=names.get(pk, "—"), open=open_count, overdue=overdue)
        for pk, (open_count, overdue) in counts.items()
    ]
    return sorted(rows, key=lambda row: (-row.overdue, -row.open, row.name))
