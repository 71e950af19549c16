"""A scorecard's definition: the scorecard, its versions, bands, measure groups, measures
and exception rules."""

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
)

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
