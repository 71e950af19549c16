from datetime import datetime, time

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.choices import SUBSCRIBABLE_TYPES, EndpointFormat, Severity
from events.models import Delivery, WebhookEndpoint
from healthscore.dates import moment_in_utc


class EndpointFiltersSerializer(serializers.Serializer):
    segments = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    owners = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    min_severity = serializers.ChoiceField(
        choices=Severity.choices, allow_null=True, allow_blank=True, required=False
    )


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """PRODUCT.md's endpoint resource. `secret` is only in the answer to a creation or a
    rotation (WebhookEndpointCreatedSerializer); never stored in plain text."""

    format = serializers.ChoiceField(choices=EndpointFormat.choices, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_TYPES), required=False
    )
    filters = EndpointFiltersSerializer(required=False)
    active = serializers.BooleanField(source="is_active", required=False)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "format",
            "description",
            "event_types",
            "filters",
            "active",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "disabled_reason", "created_at", "updated_at"]

    def to_representation(self, instance: WebhookEndpoint) -> dict:
        body = super().to_representation(instance)
        body["filters"] = {
            "segments": instance.segments,
            "owners": instance.owners,
            "min_severity": instance.min_severity or None,
        }
        return body

    def service_fields(self) -> dict:
        """validated_data as the endpoint services' keyword arguments."""
        fields = dict(self.validated_data)
        filters = fields.pop("filters", None)
        if filters is not None:
            for name in ("segments", "owners"):
                if name in filters:
                    fields[name] = filters[name]
            if "min_severity" in filters:
                fields["min_severity"] = filters["min_severity"] or ""
        return fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: keep it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    """One line of an endpoint's delivery log."""

    event_id = serializers.CharField(source="event.public_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)
    webhook_id = serializers.CharField(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "webhook_id",
            "is_digest",
            "status",
            "attempts",
            "next_attempt_at",
            "response_code",
            "duration_ms",
            "response_body",
            "error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
)
class DateOrMomentField(serializers.CharField):
    """A date (00:00 of it, in the current time zone) or a date and time; the moment in UTC."""

    def to_internal_value(self, data) -> datetime:
        value = super().to_internal_value(data)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError(
                "A date (2026-11-30) or a date and time (2026-11-30T08:00:00Z)."
            ) from None
        if len(value) == 10:
            moment = datetime.combine(moment.date(), time.min)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment_in_utc(moment)


class DeliveriesReplaySerializer(serializers.Serializer):
    """Replay every failed delivery made since a date (00:00 of it) or a moment."""

    since = DateOrMomentField()
