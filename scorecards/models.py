from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scorecards.choices import (
    BandTier,
    ExceptionAction,
    ExceptionOp,
    MappingType,
    MeasureKind,
    ValueSource,
)
from scorecards.fields import JSONTextField

POSITIVE = MinValueValidator(0.01, message=_("Weights must be positive."))
SCORE_RANGE = [MinValueValidator(0), MaxValueValidator(100)]


class Scorecard(models.Model):
    """A named set of weighted measure groups with a band scheme and exception rules.

    Assignment: an account is scored by the first scorecard (lowest priority number) whose
    non-empty segment / tier / lifecycle lists all contain the account's value, else by the
    default scorecard.
    """

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    min_coverage = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Below this share of the total weight present, an account is not scored."),
    )
    priority = models.PositiveIntegerField(
        default=100, help_text=_("Assignment order: the lowest number that matches wins.")
    )
    segments = models.JSONField(default=list, blank=True)
    tiers = models.JSONField(default=list, blank=True)
    lifecycles = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="%(app_label)s_%(class)s_name_unique"),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="%(app_label)s_%(class)s_one_default",
            ),
            models.CheckConstraint(
                condition=Q(min_coverage__gte=0) & Q(min_coverage__lte=1),
                name="%(app_label)s_%(class)s_min_coverage_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScorecardVersion(models.Model):
    """An immutable copy of a scorecard's definition; snapshots record the version used."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scorecard_versions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scorecard", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "number"], name="%(app_label)s_%(class)s_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} v{self.number}"


class Band(models.Model):
    """A lower bound on the overall score; a scorecard's bands are ordered by `min_score`."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="bands")
    label = models.CharField(max_length=30)
    min_score = models.DecimalField(max_digits=5, decimal_places=2, validators=SCORE_RANGE)
    color = models.CharField(max_length=7, default="#7f8c8d", help_text=_("Hex, e.g. #27ae60"))
    tier = models.CharField(
        max_length=10,
        choices=BandTier.choices,
        default=BandTier.WATCH,
        help_text=_("How the portfolio counts the band across scorecards."),
    )

    class Meta:
        ordering = ["scorecard", "min_score"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "label"], name="%(app_label)s_%(class)s_label_unique"
            ),
            models.UniqueConstraint(
                fields=["scorecard", "min_score"], name="%(app_label)s_%(class)s_min_unique"
            ),
            models.CheckConstraint(
                condition=Q(min_score__gte=0) & Q(min_score__lte=100),
                name="%(app_label)s_%(class)s_min_score_0_100",
            ),
            models.CheckConstraint(
                condition=Q(tier__in=BandTier.values),
                name="%(app_label)s_%(class)s_tier_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ≥ {self.min_score}"


class Measure(models.Model):
    """One signal. Its key means the same signal in every scorecard, so the mapping from raw
    value to a 0–100 score belongs to the measure, not to a scorecard."""

    key = models.SlugField(max_length=50, help_text=_("Unique across the product."))
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=MeasureKind.choices)
    mapping_type = models.CharField(max_length=10, choices=MappingType.choices)
    lo = models.FloatField(null=True, blank=True, help_text=_("Linear: raw value scored 0."))
    hi = models.FloatField(null=True, blank=True, help_text=_("Linear: raw value scored 100."))
    higher_is_better = models.BooleanField(default=True)
    steps = models.JSONField(
        null=True,
        blank=True,
        help_text=_("Steps: [[threshold, score], …] in ascending threshold order."),
    )
    max_age_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Older values are stale and count as missing.")
    )
    source = models.JSONField(
        null=True,
        blank=True,
        help_text=_(
            "Derived measures only: how the raw value is computed from metrics, e.g. "
            '{"metric": "active_users", "aggregate": "avg", "window_days": 28, '
            '"per": {"metric": "licensed_seats", "aggregate": "last", "window_days": 1}}. '
            "Empty: values are pushed."
        ),
    )

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="%(app_label)s_%(class)s_key_unique"),
            models.CheckConstraint(
                condition=~Q(mapping_type="linear") | (Q(lo__isnull=False) & Q(hi__isnull=False)),
                name="%(app_label)s_%(class)s_linear_has_lo_hi",
            ),
            models.CheckConstraint(
                condition=~Q(mapping_type="steps") | Q(steps__isnull=False),
                name="%(app_label)s_%(class)s_steps_has_steps",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_derived(self) -> bool:
        return bool(self.source)


class MeasureGroup(models.Model):
    """E.g. Outcomes, Experience, Relationship; weighted inside its scorecard."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=100)
    weight = models.DecimalField(max_digits=8, decimal_places=2, validators=[POSITIVE])
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "name"], name="%(app_label)s_%(class)s_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="%(app_label)s_%(class)s_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.weight})"


class ScorecardMeasure(models.Model):
    """A measure's place and weight inside one group of one scorecard."""

    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="scorecard_measures"
    )
    group = models.ForeignKey(MeasureGroup, on_delete=models.CASCADE, related_name="members")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="memberships")
    weight = models.DecimalField(max_digits=8, decimal_places=2, validators=[POSITIVE])
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "group__position", "position", "id"]
        constraints = [
            # A signal counts once per scorecard.
            models.UniqueConstraint(
                fields=["scorecard", "measure"], name="%(app_label)s_%(class)s_measure_once"
            ),
            models.CheckConstraint(
                condition=Q(weight__gt=0), name="%(app_label)s_%(class)s_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure.key} ({self.weight})"


class ExceptionRule(models.Model):
    """Fires when a measure's 0–100 score meets a condition; marks the score with a reason."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="exceptions")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="exception_rules")
    op = models.CharField(max_length=2, choices=ExceptionOp.choices)
    value = models.DecimalField(max_digits=5, decimal_places=2, validators=SCORE_RANGE)
    action = models.CharField(max_length=10, choices=ExceptionAction.choices)
    band = models.CharField(max_length=30, blank=True, help_text=_("cap_band: the best band."))
    score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=SCORE_RANGE,
        help_text=_("override: the overall score to set."),
    )
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["scorecard", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action="cap_band") | ~Q(band=""),
                name="%(app_label)s_%(class)s_cap_band_names_band",
            ),
            models.CheckConstraint(
                condition=~Q(action="override")
                | (Q(score__isnull=False) & Q(score__gte=0) & Q(score__lte=100)),
                name="%(app_label)s_%(class)s_override_has_score",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure.key} {self.op} {self.value}: {self.action}"


class MeasureValue(models.Model):
    """A raw value (and its 0–100 score) for one account and measure as of a date.

    Values are history: a new value never erases an older one. The same
    (account, measure, as_of, source) is one value, so a retried push changes nothing.
    """

    COMMENT_MAX_LENGTH = 2000  # checked by the ingestion (API and CSV) and the sentiment entry

    # No single-column indexes: the idempotency key and `measurevalue_latest` lead with the
    # account, `measurevalue_measure_as_of` with the measure, and every index slows ingestion.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="measure_values",
        db_index=False,
    )
    measure = models.ForeignKey(
        Measure, on_delete=models.PROTECT, related_name="values", db_index=False
    )
    raw_value = models.FloatField()
    score = models.DecimalField(max_digits=5, decimal_places=2, validators=SCORE_RANGE)
    as_of = models.DateField()
    source = models.CharField(max_length=10, choices=ValueSource.choices)
    comment = models.TextField(blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="measure_values_entered",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "measure", "as_of", "source"],
                name="%(app_label)s_%(class)s_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100),
                name="%(app_label)s_%(class)s_score_0_100",
            ),
        ]
        indexes = [
            # The latest value of a measure on or before a date is one probe of this index,
            # without touching the table (raw_value is included): see latest_values_frame.
            models.Index(
                fields=["account", "measure", "-as_of", "-id"],
                include=["raw_value"],
                name="measurevalue_latest",
            ),
            models.Index(fields=["as_of"], name="measurevalue_as_of"),
            models.Index(fields=["measure", "as_of"], name="measurevalue_measure_as_of"),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id}={self.raw_value} on {self.as_of}"


class ScoreRun(models.Model):
    """One recompute: which date, how far it got, what it counted and what went wrong."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    is_full = models.BooleanField(
        default=True, help_text=_("Every active account, rather than a chosen few.")
    )
    accounts_total = models.PositiveIntegerField(default=0)
    accounts_scored = models.PositiveIntegerField(default=0)
    accounts_not_scored = models.PositiveIntegerField(default=0)
    accounts_failed = models.PositiveIntegerField(default=0)
    exceptions_fired = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="score_runs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    progressed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the run last moved (created, started, a chunk done, resumed): a pending or "
            "running run that has not moved for SCORE_RUN_STALL_SECONDS is resumed."
        ),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "as_of"], name="scorerun_status_as_of")]

    def __str__(self) -> str:
        return f"Run {self.pk} for {self.as_of} ({self.status})"


class ScoreSnapshot(models.Model):
    """The result of scoring one account on one date; recomputing the date replaces it."""

    # Each measure is stored as a short list rather than a dict: a night writes a row per
    # account, and the keys would triple the bytes. `measure_rows` gives the dicts back.
    MEASURE_FIELDS = (
        "key",
        "group_id",
        "raw_value",
        "score",
        "as_of",
        "stale",
        "weight",
        "effective_weight",
        "contribution",
    )

    # No foreign-key indexes: each index costs every nightly insert. The (account, as_of)
    # unique constraint serves account lookups and (as_of, band) a day's snapshots, a run's
    # included; only deleting a scorecard or a run (rare, by hand) scans the table.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    as_of = models.DateField()
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.PROTECT, related_name="snapshots", db_index=False
    )
    scorecard_version = models.PositiveIntegerField()
    run = models.ForeignKey(
        ScoreRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="snapshots",
        db_index=False,
    )
    overall = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    computed = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The weighted score before exceptions; contributions add up to it."),
    )
    band = models.CharField(max_length=30)
    previous_band = models.CharField(
        max_length=30,
        blank=True,
        help_text=_(
            "The band of the day before, like for like (rule 13): that day's snapshot when of "
            "the same scorecard version, else that day rescored under this one; empty when "
            "there is no score to compare with."
        ),
    )
    coverage = models.DecimalField(max_digits=5, decimal_places=4)
    trend_7 = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    trend_30 = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    trend_90 = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    groups = JSONTextField(default=list)
    measures = JSONTextField(
        default=list,
        help_text=_("One row per measure, as a list in the order of MEASURE_FIELDS."),
    )
    exceptions = models.JSONField(default=list, blank=True)
    missing_measures = models.JSONField(default=list, blank=True)
    biggest_lever = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "as_of"], name="%(app_label)s_%(class)s_one_per_account_and_day"
            ),
            models.CheckConstraint(
                condition=Q(coverage__gte=0) & Q(coverage__lte=1),
                name="%(app_label)s_%(class)s_coverage_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["as_of", "band"], name="snapshot_as_of_band"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.as_of}: {self.overall} ({self.band})"

    @property
    def measure_rows(self) -> list[dict]:
        return [dict(zip(self.MEASURE_FIELDS, row, strict=True)) for row in self.measures]


class ScoreRunChunk(models.Model):
    """A slice of a run's accounts (an id range) that one task scores.

    Chunks make a run resumable: a worker that dies mid-chunk leaves it unfinished, and the
    chunk is scored again (idempotently) when its message is redelivered or the run resumed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="chunks")
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    account_ids = models.JSONField(
        null=True, blank=True, help_text=_("The accounts of a partial run; null = all in range.")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    accounts_scored = models.PositiveIntegerField(default=0)
    accounts_not_scored = models.PositiveIntegerField(default=0)
    accounts_failed = models.PositiveIntegerField(default=0)
    exceptions_fired = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "first_account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "first_account_id"], name="%(app_label)s_%(class)s_range_once"
            ),
            models.CheckConstraint(
                condition=Q(first_account_id__lte=models.F("last_account_id")),
                name="%(app_label)s_%(class)s_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} accounts {self.first_account_id}–{self.last_account_id}"


class CurrentScore(models.Model):
    """The snapshot that pages and the API show for an account.

    A run's snapshots become current only when the run has finished, so nobody sees a
    half-written day; until then the previous snapshot stays current.
    """

    account = models.OneToOneField(
        "accounts.Account",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="current_score",
    )
    snapshot = models.OneToOneField(
        ScoreSnapshot, on_delete=models.CASCADE, related_name="current_for"
    )
    # Copied from the snapshot so that rollups can tell each account's lowest band (ARR at
    # risk) without joining the snapshots. Unindexed: nothing looks scores up by scorecard.
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    as_of = models.DateField()
    overall = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    band = models.CharField(max_length=30)

    class Meta:
        indexes = [
            models.Index(fields=["overall"], name="currentscore_overall"),
            models.Index(fields=["band"], name="currentscore_band"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.overall} ({self.band})"


# --- Learning from renewals (PRODUCT.md) ---------------------------------------------------------


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


class RetentionPolicy(models.Model):
    """How long history is kept: one row (pk 1), edited by CS Ops in the admin.

    Daily snapshots older than `daily_snapshot_days` are thinned to one a week per account
    (whole months at a time, breakdown kept); measure values are kept `value_months` months
    and then dropped a month at a time. See services/retention.py.
    """

    daily_snapshot_days = models.PositiveIntegerField(
        default=400,
        validators=[MinValueValidator(90)],
        help_text=_("Daily snapshots kept this many days, then one a week per account."),
    )
    value_months = models.PositiveIntegerField(
        default=25,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Measure values kept this many whole months. Backtests reach back their horizon "
            "(up to 730 days) before each renewal: keep at least 25 for the longest."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policy")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="%(app_label)s_%(class)s_singleton"),
            models.CheckConstraint(
                condition=Q(daily_snapshot_days__gte=90),
                name="%(app_label)s_%(class)s_daily_covers_trends",
            ),
            models.CheckConstraint(
                condition=Q(value_months__gte=1), name="%(app_label)s_%(class)s_months_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Daily snapshots {self.daily_snapshot_days} days, values {self.value_months} months"

    @classmethod
    def load(cls) -> "RetentionPolicy":
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
