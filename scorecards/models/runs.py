"""What scoring reads and writes: measure values, score runs and their chunks, snapshots, the
current score of each account, and how long history is kept."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scorecards.choices import (
    ValueSource,
)
from scorecards.fields import JSONTextField
from scorecards.models.definition import Measure, Scorecard

SCORE_RANGE = [MinValueValidator(0), MaxValueValidator(100)]


class MeasureValue(models.Model):
    """A raw value (and its 0–100 score) for one account and measure as of a date.

    Values are history: a new value never erases an older one. The same
    (account, measure, as_of, source) is one value, so a retried push changes nothing.
    """

    COMMENT_MAX_LENGTH = 2000  # checked by the ingestion (API and CSV) and the sentiment entry

    # No single-column indexes: the idempotency key and `measurevalue_latest` lead with the
    # account, `measurevalue_measure_as_of` with the measure, and every index slows ingestion.
    # No foreign-key constraints either, as on the snapshots and current scores: PostgreSQL
    # checks them row by row at commit (0.5 s of every 50,000 values a nightly chunk derives,
    # as long as writing them). Django still cascades a deleted account and protects a
    # measure that has values; every reader starts from the accounts, so a value left by an
    # account deleted while its chunk was being scored is never read.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="measure_values",
        db_index=False,
        db_constraint=False,
    )
    measure = models.ForeignKey(
        Measure,
        on_delete=models.PROTECT,
        related_name="values",
        db_index=False,
        db_constraint=False,
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
            # What people entered or commented on, per account, newest first: the account
            # page's timeline and its breakdown's comments. Without it each first view read
            # every value of the account's history (a few milliseconds of the database's
            # time, on the cores the pages share). Few rows: automated values carry no
            # comment, computed ones are left out.
            models.Index(
                fields=["account", "-as_of", "-id"],
                condition=(Q(source=ValueSource.MANUAL) | ~Q(comment=""))
                & ~Q(source=ValueSource.COMPUTED),
                name="measurevalue_people_entered",
            ),
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

    events_recorded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the finished run's outbound events (band moves, score_run.finished) were "
            "recorded; they are recorded after the run commits, from its staged band moves."
        ),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "as_of"], name="scorerun_status_as_of")]

    def __str__(self) -> str:
        return f"Run {self.pk} for {self.as_of} ({self.status})"


class ScoreRunBandMove(models.Model):
    """An account whose band moved like-for-like in a run, staged in the run's own
    transaction (one INSERT … SELECT, before the run's scores become current, while the
    previous current score is still there) so that the run does not wait for its
    `score.band_changed` events: they are built from these rows after the run commits, and
    the rows are deleted then. Snapshots are referenced by id and date (their table is
    partitioned by date and has no single-column key to point a foreign key at). No
    foreign-key constraint on the run either: it would be checked row by row as the run
    commits (10,000 checks for a night in which 10,000 accounts move), for rows that the run
    itself writes and that live minutes; Django still deletes them with their run."""

    run = models.ForeignKey(
        ScoreRun, on_delete=models.CASCADE, related_name="band_moves", db_constraint=False
    )
    account_id = models.BigIntegerField()
    from_snapshot_id = models.BigIntegerField()
    from_as_of = models.DateField()
    from_band = models.CharField(max_length=30)
    from_overall = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    to_snapshot_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"Run {self.run_id}: account {self.account_id} from {self.from_band}"


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
    # No foreign-key constraints either: PostgreSQL checks them one row at a time when a
    # chunk commits, three per snapshot (0.2 s of a 10,000-account chunk's 2.5 s). The run's
    # chunks are the only writer and write the accounts, scorecards and run they have just
    # read; Django still cascades a deleted account, protects a scorecard and clears a run.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="snapshots",
        db_index=False,
        db_constraint=False,
    )
    as_of = models.DateField()
    scorecard = models.ForeignKey(
        Scorecard,
        on_delete=models.PROTECT,
        related_name="snapshots",
        db_index=False,
        db_constraint=False,
    )
    scorecard_version = models.PositiveIntegerField()
    run = models.ForeignKey(
        ScoreRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="snapshots",
        db_index=False,
        db_constraint=False,
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
    earlier_scores = JSONTextField(
        default=dict,
        blank=True,
        help_text=_(
            "The earlier scores of the trend windows that the run rescored under this "
            'version (rule 13), with their lines, so that "what changed" reads them instead '
            'of scoring again: {"<days>": {"on", "overall", "lines"}}; {} when none was.'
        ),
    )
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

    # No foreign-key constraints, as on the snapshots these rows are copied from: publishing
    # a run checks them one row at a time at commit, two per account (4.6 s + 3.4 s of a
    # 1,000,000-account publish). Django still cascades a deleted account or snapshot and
    # protects a scorecard.
    account = models.OneToOneField(
        "accounts.Account",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="current_score",
        db_constraint=False,
    )
    # Not unique and not indexed: the account (the primary key) already makes it one row per
    # snapshot, and each index costs every publish (the unique one 2–3 s at a million
    # accounts). Looking a current score up by snapshot (deleting a snapshot by hand) scans.
    snapshot = models.ForeignKey(
        ScoreSnapshot,
        on_delete=models.CASCADE,
        related_name="current_for",
        db_index=False,
        db_constraint=False,
    )
    # Copied from the snapshot so that rollups can tell each account's lowest band (ARR at
    # risk) without joining the snapshots. Unindexed: nothing looks scores up by scorecard.
    scorecard = models.ForeignKey(
        Scorecard,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Also copied: a run tells which band moves are like for like (same scorecard and
    # version, rule 13) without reading the previous snapshots.
    scorecard_version = models.PositiveIntegerField(default=0)
    as_of = models.DateField()
    overall = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    band = models.CharField(max_length=30)

    class Meta:
        # Band only. An index on `overall` cost 4.3 s of a 1,000,000-account publish (random
        # inserts into a numeric btree) and served no query: lists start from the accounts a
        # person may see and sort those, and the API orders by an expression over it.
        indexes = [models.Index(fields=["band"], name="currentscore_band")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.overall} ({self.band})"


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
