from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from risk.models import Risk, RiskEvent, RiskRule


class RiskEventInline(admin.TabularInline):
    """A risk's history is written by the risk workflow, never edited."""

    model = RiskEvent
    fields = ["at", "from_status", "to_status", "by", "note"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("by")


@admin.register(Risk)
class RiskAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "risk_type",
        "severity",
        "status",
        "owner",
        "raised_by",
        "opened_at",
        "updated_at",
    ]
    list_filter = ["risk_type", "severity", "status"]
    search_fields = ["account__name", "account__external_id"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account"]
    date_hierarchy = "opened_at"
    inlines = [RiskEventInline]

    # Status moves (acknowledge, mitigate, resolve, close) go through the risk workflow, which
    # records each step as a RiskEvent with its note; the admin only shows where a risk is.
    always_readonly = ["status", "condition_cleared_at", "resolved_at", "updated_at"]
    readonly_once_raised = ["account", "risk_type", "raised_by", "opened_at", "evidence"]

    def get_readonly_fields(self, request: HttpRequest, obj: Risk | None = None) -> list[str]:
        if obj is None:
            return self.always_readonly
        return self.always_readonly + self.readonly_once_raised


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    """One rule per risk type, made by a migration: tune them, never add or remove one."""

    list_display = [
        "risk_type",
        "is_enabled",
        "threshold",
        "window_days",
        "severity",
        "auto_resolve",
    ]
    list_display_links = ["risk_type"]
    list_editable = ["is_enabled", "threshold", "severity", "auto_resolve"]
    readonly_fields = ["risk_type"]
    fields = ["risk_type", "is_enabled", "threshold", "window_days", "severity", "auto_resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
