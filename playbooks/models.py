from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from playbooks.choices import Assignee, TaskStatus
from risk.choices import RiskType, Severity


class Playbook(models.Model):
    """CS Ops' steps for one risk type: when a risk of that type opens, or rises to
    `min_severity`, each step becomes a task on the account."""

    name = models.CharField(max_length=200)
    risk_type = models.CharField(max_length=30, choices=RiskType.choices)
    min_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        blank=True,
        help_text=_("Only risks at least this severe get the tasks; empty: every risk."),
    )
    segments = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Only accounts of these segments, e.g. ["Enterprise"]; empty: every one.'),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["risk_type", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="%(app_label)s_%(class)s_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    """One step of a playbook; its tasks point back at it, so a step never makes two tasks
    for the same risk."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_in_days = models.IntegerField(help_text=_("Days after the risk opened; 0 is the same day."))
    assignee = models.CharField(max_length=10, choices=Assignee.choices, default=Assignee.OWNER)

    class Meta:
        ordering = ["playbook", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_in_days__gte=0),
                name="%(app_label)s_%(class)s_due_in_days_not_negative",
                violation_error_message=_("A step is due in 0 days or more."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Task(models.Model):
    """A step of a playbook to do on an account because of one of its risks."""

    # No single-column indexes on account, risk, step and assignee: the composite indexes
    # below (and the step-and-risk constraint) start with each of them and serve the same
    # lookups, and a first evaluation of a big portfolio inserts a task row per step of
    # every new risk into every index.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    risk = models.ForeignKey(
        "risk.Risk", on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    step = models.ForeignKey(
        PlaybookStep,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_on = models.DateField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
    )
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    note = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks_completed",
    )
    overdue_recorded_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When task.overdue was recorded (once per task).")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            # Two evaluations that raise the same risk at once both try to create its tasks:
            # the database keeps one per step.
            models.UniqueConstraint(
                fields=["step", "risk"], name="%(app_label)s_%(class)s_one_per_step_and_risk"
            ),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN, completed_at__isnull=True)
                | (~Q(status=TaskStatus.OPEN) & Q(completed_at__isnull=False)),
                name="%(app_label)s_%(class)s_completed_at_iff_finished",
            ),
            models.CheckConstraint(
                condition=~Q(status=TaskStatus.SKIPPED) | ~Q(note=""),
                name="%(app_label)s_%(class)s_skipped_has_note",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_on"], name="task_assignee_status_due"),
            models.Index(fields=["account", "status"], name="task_account_status"),
            models.Index(fields=["risk", "status"], name="task_risk_status"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN
