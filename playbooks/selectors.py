"""Reads of tasks: scoped to what the user may see, for the API, the dashboard, the account
page and the portfolio."""

from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from accounts.selectors import accounts_visible_to
from playbooks.choices import FINISHED_STATUSES, TaskStatus
from playbooks.models import Task
from risk.choices import UNRESOLVED_STATUSES
from risk.models import Risk

# "Due this week": the next seven days, today included.
WEEK_DAYS = 7


def tasks_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Task]:
    """Tasks of the accounts the user sees: another CSM's task does not exist for them."""
    return Task.objects.filter(account__in=accounts_visible_to(user=user))


def tasks_mine(*, user: AbstractBaseUser, today: date, limit: int = 20) -> tuple[list[Task], int]:
    """The dashboard's "My tasks": the user's open tasks that are overdue or due within a
    week, overdue first (oldest first), then by due date. Tasks of a risk that was closed
    meanwhile no longer need doing and are left out (the account page still lists them).
    Returns (the first `limit`, the total count)."""
    due = Task.objects.filter(
        assignee=user,
        status=TaskStatus.OPEN,
        due_on__lt=today + timedelta(days=WEEK_DAYS),
        risk__status__in=UNRESOLVED_STATUSES,
    )
    total = due.count()
    ordered = due.annotate(
        is_overdue=Case(When(due_on__lt=today, then=Value(0)), default=Value(1))
    ).order_by("is_overdue", "due_on", "id")
    return list(ordered.select_related("account", "risk")[:limit]), total


def tasks_for_account(*, account_id: int) -> list[Task]:
    """Every task of an account, open first, then by due date."""
    return list(
        Task.objects.filter(account_id=account_id)
        .annotate(
            is_finished=Case(
                When(status__in=FINISHED_STATUSES, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .select_related("risk", "assignee")
        .order_by("is_finished", "due_on", "id")
    )


def risk_tasks_all_finished(*, risk: Risk) -> bool:
    """A risk with tasks, all done or skipped: the page offers to resolve it."""
    counts = risk.tasks.aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(status=TaskStatus.OPEN))
    )
    return counts["total"] > 0 and counts["open"] == 0


def risks_with_all_tasks_finished(*, risk_ids: list[int]) -> set[int]:
    """Of these risks, those with tasks, all done or skipped. One query."""
    rows = (
        Task.objects.filter(risk_id__in=risk_ids)
        .values("risk_id")
        .annotate(open=Count("pk", filter=Q(status=TaskStatus.OPEN)))
        .filter(open=0)
        .values_list("risk_id", flat=True)
    )
    return set(rows)


def tasks_by_assignee(*, today: date, accounts: QuerySet | None = None) -> dict[int, tuple]:
    """Open and overdue tasks per assignee (user id → (open, overdue)), for the portfolio."""
    tasks = Task.objects.filter(
        status=TaskStatus.OPEN, assignee__isnull=False, risk__status__in=UNRESOLVED_STATUSES
    )
    if accounts is not None:
        tasks = tasks.filter(account__in=accounts)
    rows = (
        tasks.values("assignee_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
        .values_list("assignee_id", "open", "overdue")
    )
    return {assignee_id: (open_count, overdue) for assignee_id, open_count, overdue in rows}
