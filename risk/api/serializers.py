from rest_framework import serializers

from risk.choices import RiskStatus
from risk.models import Risk, RiskEvent


class RiskEventSerializer(serializers.ModelSerializer):
    from_status = serializers.ChoiceField(
        choices=RiskStatus.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty on the event that raised the risk: it had no status before.",
    )

    class Meta:
        model = RiskEvent
        fields = ["from_status", "to_status", "note", "by", "at"]
        read_only_fields = fields


class RiskSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)

    class Meta:
        model = Risk
        fields = [
            "id",
            "account",
            "account_id",
            "risk_type",
            "severity",
            "status",
            "owner",
            "raised_by",
            "evidence",
            "notes",
            "opened_at",
            "updated_at",
            "condition_cleared_at",
            "resolved_at",
            "snoozed_until",
        ]
        read_only_fields = fields


class RiskDetailSerializer(RiskSerializer):
    events = RiskEventSerializer(many=True, read_only=True)

    class Meta(RiskSerializer.Meta):
        fields = [*RiskSerializer.Meta.fields, "events"]
        read_only_fields = fields


class RiskTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RiskStatus.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=RiskEvent.NOTE_MAX_LENGTH
    )
    snoozed_until = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Closing while the condition holds: quiet until this day (30 days if empty).",
    )
