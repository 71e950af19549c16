from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from risk.choices import UNRESOLVED_STATUSES, RiskStatus, RiskType, Severity


class RiskRule(models.Model):
    """CS Ops' settings for one risk type: whether it is raised, at which threshold, how bad."""

    risk_type = models.CharField(max_length=30, choices=RiskType.choices)
    is_enabled = models.BooleanField(default=True)
    threshold = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The score or points the rule compares with, where it has one."),
    )
    window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("The look-back or look-ahead in days, where used.")
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    auto_resolve = models.BooleanField(
        default=False, help_text=_("Resolve the risk by itself when its condition clears.")
    )

    class Meta:
        ordering = ["risk_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["risk_type"], name="%(app_label)s_%(class)s_one_per_type"
            )
        ]

    def __str__(self) -> str:
        return self.get_risk_type_display()


class Risk(models.Model):
    """An identified problem on an account, distinct from its score."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="risks")
    risk_type = models.CharField(max_length=30, choices=RiskType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=15, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="risks_owned",
    )
    raised_by = models.CharField(
        max_length=100, help_text=_("The rule, exception or person that raised it.")
    )
    evidence = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    condition_cleared_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_on = models.DateField(
        null=True, blank=True, help_text=_("The day the owner was last emailed about it.")
    )
    snoozed_until = models.DateField(
        null=True,
        blank=True,
        help_text=_(
            "Closed while its condition still held: until this day the rule does not raise it "
            "again (nor email), unless its severity rises."
        ),
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # Raising the same risk again updates the open one; the database keeps it so even
            # when two evaluations race.
            models.UniqueConstraint(
                fields=["account", "risk_type"],
                condition=Q(status__in=UNRESOLVED_STATUSES),
                name="%(app_label)s_%(class)s_one_open_per_type",
            )
        ]
        indexes = [
            models.Index(fields=["status", "severity"], name="risk_status_severity"),
            models.Index(fields=["account", "status"], name="risk_account_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_risk_type_display()} on {self.account}"

    @property
    def is_open(self) -> bool:
        return self.status in UNRESOLVED_STATUSES


class RiskEvent(models.Model):
    """One step in a risk's history: who moved it where, when, and why."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=15, choices=RiskStatus.choices, blank=True)
    to_status = models.CharField(max_length=15, choices=RiskStatus.choices)
    NOTE_MAX_LENGTH = 2000  # checked by risk.services.lifecycle
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="risk_events",
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["risk", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"
