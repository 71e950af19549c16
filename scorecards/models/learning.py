"""Learning from renewals and scorecard changes: drafts, backtest runs and renewal likelihood
calibrations."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scorecards.models.definition import Scorecard, ScorecardVersion


class ScorecardDraft(models.Model):
    """Suggested or edited weights for a scorecard, not yet published.

    A draft never affects scores: it is previewed and backtested on its own, and publishing
    applies its weights to the scorecard, which creates the next ScorecardVersion. It is made
    from one version (`base_version`) and can only be published while that is still current.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Source(models.TextChoices):
        OPTIMIZER = "optimizer", _("Suggested by the optimizer")
        MANUAL = "manual", _("Edited by hand")

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="drafts")
    base_version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    definition = models.JSONField(
        help_text=_("The scorecard document (PRODUCT.md API shapes) with the draft's weights.")
    )
    report = models.JSONField(
        null=True, blank=True, help_text=_("The optimizer's report the suggestion came from.")
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scorecard_drafts",
    )
    published_version = models.ForeignKey(
        ScorecardVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="drafts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scorecard", "-created_at"]

    def __str__(self) -> str:
        return f"Draft {self.pk} of {self.scorecard} v{self.base_version} ({self.status})"


class BacktestRun(models.Model):
    """A backtest and optimizer run in a worker, with its progress and its report."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="backtest_runs")
    horizon_days = models.PositiveIntegerField(default=90)
    is_downgraded_churned = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent done."))
    stage = models.CharField(max_length=100, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backtest_runs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="%(app_label)s_%(class)s_progress_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"Backtest {self.pk} of {self.scorecard} ({self.status})"


class RenewalCalibration(models.Model):
    """Score → renewal probability for one scorecard version, fitted on the backtest.

    `fit` is null when there are too few outcomes (`message` says why): no likelihood is shown
    then. The outcome count and last id tell when new outcomes call for a new fit.
    """

    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="renewal_calibrations"
    )
    scorecard_version = models.PositiveIntegerField()
    horizon_days = models.PositiveIntegerField(default=90)
    outcomes_total = models.PositiveIntegerField(default=0)
    outcomes_last_id = models.BigIntegerField(null=True, blank=True)
    n_outcomes = models.PositiveIntegerField(default=0, help_text=_("Scored outcomes used."))
    n_churned = models.PositiveIntegerField(default=0)
    fit = models.JSONField(null=True, blank=True)
    table = models.JSONField(default=list, blank=True)
    brier_holdout = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)
    fitted_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "scorecard_version", "horizon_days"],
                name="%(app_label)s_%(class)s_one_per_version",
            ),
        ]

    def __str__(self) -> str:
        return f"Calibration of {self.scorecard} v{self.scorecard_version}"
