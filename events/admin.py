"""CS Ops manage endpoints here as in the API: the secret is shown once (a message after
saving a new endpoint or rotating), never on the page again; deliveries are a read-only log
with replay."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from events import services
from events.models import Delivery, Event, WebhookEndpoint
from events.services.endpoints import webhook_endpoint_validate


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "format", "is_active", "failing_since", "disabled_reason"]
    list_filter = ["format", "is_active"]
    fields = [
        "url",
        "format",
        "description",
        "event_types",
        "segments",
        "owners",
        "min_severity",
        "is_active",
        "disabled_reason",
        "failing_since",
    ]
    readonly_fields = ["disabled_reason", "failing_since"]
    actions = ["rotate_secret", "send_test_ping"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        admin_form_clean = form.clean

        def clean(form_self):
            cleaned = admin_form_clean(form_self)
            candidate = WebhookEndpoint(
                url=cleaned.get("url") or "",
                event_types=cleaned.get("event_types") or [],
                segments=cleaned.get("segments") or [],
                owners=cleaned.get("owners") or [],
                min_severity=cleaned.get("min_severity") or "",
            )
            try:
                webhook_endpoint_validate(candidate)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    name = field.split(".")[-1]
                    form_self.add_error(name if name in form_self.fields else None, problems)
            return cleaned

        form.clean = clean
        return form

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        fields = {
            name: form.cleaned_data[name] for name in form.changed_data if name in self.fields
        }
        if change:
            services.webhook_endpoint_update(endpoint=obj, **fields)
            return
        created = services.webhook_endpoint_create(
            user=request.user,
            **{name: form.cleaned_data[name] for name in self.fields if name in form.cleaned_data},
        )
        obj.pk = created.endpoint.pk
        self.message_user(
            request,
            f"The endpoint's secret, shown this once: {created.secret}",
            level=messages.WARNING,
        )

    @admin.action(description="Rotate the secret (the old one signs for 24 more hours)")
    def rotate_secret(self, request: HttpRequest, queryset) -> None:
        for endpoint in queryset:
            rotated = services.webhook_endpoint_rotate(endpoint=endpoint)
            self.message_user(
                request,
                f"New secret of endpoint {endpoint.pk}, shown this once: {rotated.secret}",
                level=messages.WARNING,
            )

    @admin.action(description="Send a test ping now")
    def send_test_ping(self, request: HttpRequest, queryset) -> None:
        for endpoint in queryset:
            delivery = services.webhook_endpoint_ping(endpoint=endpoint)
            self.message_user(
                request,
                f"Endpoint {endpoint.pk}: {delivery.status} "
                f"({delivery.response_code or delivery.error}, {delivery.duration_ms} ms)",
            )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "endpoint",
        "event_type",
        "is_digest",
        "status",
        "attempts",
        "response_code",
        "duration_ms",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "is_digest", "endpoint"]
    list_select_related = ["endpoint", "event"]
    readonly_fields = [
        "webhook_id",
        "endpoint",
        "event",
        "is_digest",
        "status",
        "attempts",
        "next_attempt_at",
        "first_attempt_at",
        "last_attempt_at",
        "delivered_at",
        "response_code",
        "duration_ms",
        "response_body",
        "error",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["replay"]
    date_hierarchy = "created_at"

    @admin.display(description="event type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.event_type

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay (same webhook-id)")
    def replay(self, request: HttpRequest, queryset) -> None:
        replayed = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                services.delivery_replay(delivery=delivery)
                replayed += 1
            except ValidationError as error:
                self.message_user(request, f"{delivery.pk}: {error.messages[0]}", messages.ERROR)
        self.message_user(request, f"{replayed} deliveries will be sent again.")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "account", "severity", "created_at", "fanned_out_at"]
    list_filter = ["event_type"]
    list_select_related = ["account"]
    readonly_fields = [
        "event_type",
        "account",
        "segment",
        "severity",
        "score_run_id",
        "is_in_digest",
        "data",
        "created_at",
        "fanned_out_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
