from rest_framework import serializers

from accounts.api.serializers import UpsertResultSerializer
from scorecards.choices import ValueSource
from scorecards.models import MeasureValue

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
    as_of = serializers.DateField(help_text="Not after today.")
    source = serializers.ChoiceField(choices=ValueSource.choices, default=ValueSource.API)
    comment = serializers.CharField(required=False, allow_blank=True)


# --- Scores (responses are built by scorecards.api.scores; these document their shape) ------


class ScoreQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="YYYY-MM-DD; default: the latest.")


class ScoreHistoryQuerySerializer(serializers.Serializer):
    # "from" is a keyword: the fields are named in `fields` below.
    def get_fields(self):
        return {
            "from": serializers.DateField(required=False, help_text="Default: 90 days before."),
            "to": serializers.DateField(required=False, help_text="Default: the latest score."),
        }


class ScoreChangesQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="Default: 30 days before `date`.")
    date = serializers.DateField(required=False, help_text="Default: the latest score.")


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
    as_of = serializers.DateField(allow_null=True)
    stale = serializers.BooleanField()
    effective_weight = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField(allow_null=True)


class ScoreExceptionSerializer(serializers.Serializer):
    reason = serializers.CharField()
    action = serializers.CharField()


class BiggestLeverSerializer(serializers.Serializer):
    measure = serializers.CharField()
    gain = serializers.FloatField()


class ScoreSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="The account's external_id.")
    date = serializers.DateField()
    scorecard = serializers.CharField()
    overall = serializers.FloatField(allow_null=True)
    band = serializers.CharField(help_text="A band label, or “Not scored”.")
    coverage = serializers.FloatField()
    trend = TrendSerializer()
    groups = ScoreGroupSerializer(many=True)
    measures = ScoreMeasureSerializer(many=True)
    exceptions = ScoreExceptionSerializer(many=True)
    biggest_lever = BiggestLeverSerializer(allow_null=True)


class ScoreHistoryRowSerializer(serializers.Serializer):
    date = serializers.DateField()
    overall = serializers.FloatField(allow_null=True)
    band = serializers.CharField()
    coverage = serializers.FloatField()
    scorecard = serializers.CharField()


class ScoreHistorySerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "account": serializers.CharField(),
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "scores": ScoreHistoryRowSerializer(many=True),
        }


class ScoreChangeRowSerializer(serializers.Serializer):
    measure = serializers.CharField()
    contribution_from = serializers.FloatField(allow_null=True)
    contribution_to = serializers.FloatField(allow_null=True)
    change = serializers.FloatField()


class ScoreChangesSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "account": serializers.CharField(),
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "score_from": serializers.FloatField(),
            "score_to": serializers.FloatField(),
            "change": serializers.FloatField(),
            "measures": ScoreChangeRowSerializer(many=True),
        }
