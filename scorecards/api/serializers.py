from rest_framework import serializers

from accounts.api.serializers import UpsertResultSerializer
from accounts.models import Account
from healthscore.dates import BoundedDateField
from scorecards.choices import (
    BandTier,
    ExceptionAction,
    ExceptionOp,
    MappingType,
    MeasureKind,
    ValueSource,
)
from scorecards.learning.backtest import DEFAULT_HORIZON_DAYS
from scorecards.learning.selectors import HORIZON_DAYS_MAX, HORIZON_DAYS_MIN
from scorecards.models import BacktestRun, MeasureValue, Scorecard, ScoreRun

__all__ = ["UpsertResultSerializer"]


class MeasureValueSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)
    measure = serializers.CharField(source="measure.key", read_only=True)

    class Meta:
        model = MeasureValue
        fields = [
            "id",
            "account",
            "account_id",
            "measure",
            "raw_value",
            "score",
            "as_of",
            "source",
            "comment",
            "entered_by",
            "created_at",
        ]
        read_only_fields = fields


class MeasureValueInputSerializer(serializers.Serializer):
    """One measure value to push (documentation of the shape; the ingestion service checks
    it, the same way for the API and the CSV import)."""

    account = serializers.CharField(help_text="The account's external_id.")
    measure = serializers.CharField(help_text="The measure's key, e.g. csm_sentiment.")
    raw_value = serializers.FloatField(help_text="Scored 0–100 with the measure's mapping.")
    as_of = BoundedDateField(help_text="Not after today.")
    source = serializers.ChoiceField(choices=ValueSource.choices, default=ValueSource.API)
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=MeasureValue.COMMENT_MAX_LENGTH
    )


# --- Scores (responses are built by scorecards.api.scores; these document their shape) ------


class ScoreQuerySerializer(serializers.Serializer):
    date = BoundedDateField(required=False, help_text="YYYY-MM-DD; default: the latest.")


class ScoreHistoryQuerySerializer(serializers.Serializer):
    # "from" is a keyword: the fields are named in `fields` below.
    def get_fields(self):
        return {
            "from": BoundedDateField(required=False, help_text="Default: 90 days before."),
            "to": BoundedDateField(required=False, help_text="Default: the latest score."),
        }


class ScoreChangesQuerySerializer(serializers.Serializer):
    since = BoundedDateField(required=False, help_text="Default: 30 days before `date`.")
    date = BoundedDateField(required=False, help_text="Default: the latest score.")


TrendSerializer = type(
    "TrendSerializer",
    (serializers.Serializer,),
    {
        str(days): serializers.FloatField(
            allow_null=True, help_text=f"Overall now minus {days} days ago."
        )
        for days in (7, 30, 90)
    },
)


class ScoreGroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    weight = serializers.FloatField()
    score = serializers.FloatField(allow_null=True)


class ScoreMeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    raw_value = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    as_of = BoundedDateField(allow_null=True)
    stale = serializers.BooleanField()
    effective_weight = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField(allow_null=True)
    inputs = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Derived measures only: the inputs in words, e.g. "
        "“avg active users (28 d) 41 ÷ licensed seats 50 = 0.82”.",
    )


class ScoreExceptionSerializer(serializers.Serializer):
    reason = serializers.CharField()
    action = serializers.CharField()
    effect = serializers.FloatField(
        help_text="Points this exception adds to the computed score (rule 12): overall − "
        "computed for the override that set the score, 0 for every other."
    )


class BiggestLeverSerializer(serializers.Serializer):
    measure = serializers.CharField()
    gain = serializers.FloatField()


class ScoreSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="The account's external_id.")
    date = BoundedDateField()
    scorecard = serializers.CharField()
    overall = serializers.FloatField(allow_null=True)
    computed = serializers.FloatField(
        allow_null=True,
        help_text="The score before exceptions; contributions add up to it, and with the "
        "exceptions' effects to `overall`.",
    )
    band = serializers.CharField(help_text="A band label, or “Not scored”.")
    coverage = serializers.FloatField()
    trend = TrendSerializer()
    groups = ScoreGroupSerializer(many=True)
    measures = ScoreMeasureSerializer(many=True)
    exceptions = ScoreExceptionSerializer(many=True)
    biggest_lever = BiggestLeverSerializer(allow_null=True)
    renewal_likelihood = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text=(
            "The calibrated probability (0–1) that the account renews, learned from the "
            "scorecard's backtest on renewal outcomes; null when not scored or when there are "
            "fewer than 50 scored outcomes (or fewer than 10 churned)."
        ),
    )


class ScoreHistoryRowSerializer(serializers.Serializer):
    date = BoundedDateField()
    overall = serializers.FloatField(allow_null=True)
    band = serializers.CharField()
    coverage = serializers.FloatField()
    scorecard = serializers.CharField()


class ScoreHistorySerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "account": serializers.CharField(),
            "from": BoundedDateField(),
            "to": BoundedDateField(),
            "scores": ScoreHistoryRowSerializer(many=True),
        }


class ScoreChangeRowSerializer(serializers.Serializer):
    measure = serializers.CharField(allow_null=True, help_text="Null on an exception's line.")
    exception = serializers.CharField(
        allow_null=True, help_text="The reason of an override's line (rule 12); else null."
    )
    contribution_from = serializers.FloatField(allow_null=True)
    contribution_to = serializers.FloatField(allow_null=True)
    change = serializers.FloatField()
    inputs_from = serializers.CharField(
        required=False, allow_null=True, help_text="Derived measures only: the inputs on from."
    )
    inputs_to = serializers.CharField(
        required=False, allow_null=True, help_text="Derived measures only: the inputs on to."
    )


class ScoreChangesSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "account": serializers.CharField(),
            "from": BoundedDateField(),
            "to": BoundedDateField(),
            "score_from": serializers.FloatField(),
            "score_to": serializers.FloatField(),
            "change": serializers.FloatField(),
            "is_rescored": serializers.BooleanField(
                help_text="True when the earlier day was rescored under the later score's "
                "scorecard version (its snapshot was missing or of another version)."
            ),
            "measures": ScoreChangeRowSerializer(many=True),
        }


# --- Scorecards as documents ---------------------------------------------------------------


class MappingSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=MappingType.choices)
    lo = serializers.FloatField(required=False, allow_null=True)
    hi = serializers.FloatField(required=False, allow_null=True)
    higher_is_better = serializers.BooleanField(required=False, default=True)
    steps = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False,
        allow_null=True,
    )


class DocumentMeasureSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=100)
    weight = serializers.FloatField()
    kind = serializers.ChoiceField(choices=MeasureKind.choices)
    mapping = MappingSerializer()
    max_age_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    source = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="A derived measure's metric, aggregate, window_days, per and change.",
    )


class DocumentGroupSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    weight = serializers.FloatField()
    measures = DocumentMeasureSerializer(many=True)


class DocumentBandSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=30)
    min = serializers.FloatField()
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", max_length=7, default="#7f8c8d")
    tier = serializers.ChoiceField(
        choices=BandTier.choices,
        required=False,
        help_text="healthy, watch or at_risk; by default the lowest band is at_risk, the "
        "highest healthy, the rest watch.",
    )


class DocumentAssignmentSerializer(serializers.Serializer):
    priority = serializers.IntegerField(min_value=0, default=100)
    segment = serializers.ListField(child=serializers.CharField(), default=list)
    tier = serializers.ListField(child=serializers.CharField(), default=list)
    lifecycle = serializers.ListField(
        child=serializers.ChoiceField(choices=Account.Lifecycle.choices), default=list
    )


class DocumentExceptionSerializer(serializers.Serializer):
    measure = serializers.CharField()
    op = serializers.ChoiceField(choices=ExceptionOp.choices)
    value = serializers.FloatField(min_value=0, max_value=100)
    action = serializers.ChoiceField(choices=ExceptionAction.choices)
    band = serializers.CharField(required=False, allow_blank=True)
    score = serializers.FloatField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=200)


class ScorecardDocumentSerializer(serializers.Serializer):
    """A whole scorecard in the shape of PRODUCT.md (the admin's import/export format)."""

    name = serializers.CharField(max_length=100)
    is_default = serializers.BooleanField(default=False)
    min_coverage = serializers.FloatField(min_value=0, max_value=1, default=0.0)
    assignment = DocumentAssignmentSerializer()
    bands = DocumentBandSerializer(many=True)
    groups = DocumentGroupSerializer(many=True)
    exceptions = DocumentExceptionSerializer(many=True, default=list)


class ScorecardSerializer(ScorecardDocumentSerializer):
    """A stored scorecard: its id and version, then the document."""

    id = serializers.IntegerField(read_only=True)
    version = serializers.IntegerField(read_only=True)


# --- Score runs ------------------------------------------------------------------------------


class ScoreRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoreRun
        fields = [
            "id",
            "as_of",
            "status",
            "is_full",
            "accounts_total",
            "accounts_scored",
            "accounts_not_scored",
            "accounts_failed",
            "exceptions_fired",
            "chunks_total",
            "chunks_done",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields


class ScoreRunStartSerializer(serializers.Serializer):
    date = BoundedDateField(required=False, help_text="YYYY-MM-DD; default today.")


# --- Backtest runs (learning from renewals) -------------------------------------------------


class BacktestRunSerializer(serializers.ModelSerializer):
    result = serializers.JSONField(
        read_only=True,
        allow_null=True,
        help_text=(
            "When finished: the backtest and optimizer report (outcome counts, AUC and bands "
            "with the current and the suggested weights, held-out figures, each measure's AUC "
            "and weights; `suggested` is null and `message` says why when there are too few "
            "outcomes to learn from). Null until then."
        ),
    )
    requested_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The username of who started the run; null when nobody did (a task).",
    )

    class Meta:
        model = BacktestRun
        fields = [
            "id",
            "scorecard",
            "horizon_days",
            "status",
            "progress",
            "stage",
            "result",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "progress": {"help_text": "Percent done, 0–100."},
            "error": {"help_text": "Why the run failed; empty unless it failed."},
        }


class BacktestRunStartSerializer(serializers.Serializer):
    scorecard = serializers.PrimaryKeyRelatedField(queryset=Scorecard.objects.all())
    horizon_days = serializers.IntegerField(
        min_value=HORIZON_DAYS_MIN,
        max_value=HORIZON_DAYS_MAX,
        default=DEFAULT_HORIZON_DAYS,
        help_text="Days before each renewal at which its account is scored.",
    )


# --- Portfolio -------------------------------------------------------------------------------


class PortfolioQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(
        choices=["owner", "segment", "region", "tier"], required=False
    )
    date = BoundedDateField(required=False, help_text="Default: the latest scores.")


class PortfolioBandSerializer(serializers.Serializer):
    band = serializers.CharField()
    accounts = serializers.IntegerField()
    arr = serializers.FloatField()


class PortfolioTierSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=[*BandTier.values, "not_scored"])
    accounts = serializers.IntegerField()
    arr = serializers.FloatField()


class PortfolioGroupSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    accounts = serializers.IntegerField()
    arr = serializers.FloatField()
    average_score = serializers.FloatField(allow_null=True)
    arr_at_risk = serializers.FloatField(
        help_text="ARR of accounts whose band is in the at_risk tier of their scorecard."
    )
    bands = PortfolioBandSerializer(many=True)
    tiers = PortfolioTierSerializer(
        many=True,
        help_text="healthy, watch, at_risk, then not_scored: accounts and ARR, every "
        "scorecard's bands counted in their tiers.",
    )


class PortfolioSerializer(serializers.Serializer):
    date = BoundedDateField(allow_null=True)
    group_by = serializers.CharField(allow_null=True)
    total = PortfolioGroupSerializer()
    groups = PortfolioGroupSerializer(many=True)
