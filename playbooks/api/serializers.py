from rest_framework import serializers

from playbooks.choices import Assignee
from playbooks.models import Playbook, PlaybookStep, Task
from risk.choices import RiskType, Severity


class PlaybookStepSerializer(serializers.ModelSerializer):
    assignee = serializers.ChoiceField(choices=Assignee.choices, default=Assignee.OWNER)
    due_in_days = serializers.IntegerField(
        min_value=0, error_messages={"min_value": "A step is due in 0 days or more."}
    )

    class Meta:
        model = PlaybookStep
        fields = ["title", "description", "due_in_days", "assignee"]


class PlaybookSerializer(serializers.ModelSerializer):
    risk_type = serializers.ChoiceField(choices=RiskType.choices)
    min_severity = serializers.ChoiceField(
        choices=Severity.choices, required=False, allow_blank=True, default=""
    )
    segments = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    steps = PlaybookStepSerializer(many=True)
    active = serializers.BooleanField(source="is_active", required=False, default=True)

    class Meta:
        model = Playbook
        fields = ["id", "name", "risk_type", "min_severity", "segments", "steps", "active"]
        read_only_fields = ["id"]

    def validate_steps(self, steps: list) -> list:
        if not steps:
            raise serializers.ValidationError("A playbook has at least one step.")
        return steps


class TaskSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "account",
            "risk",
            "title",
            "description",
            "due_on",
            "assignee",
            "status",
            "note",
            "completed_at",
        ]
        read_only_fields = fields


class TaskNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")
