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
