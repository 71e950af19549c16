from django.contrib import admin

from playbooks.models import Playbook, PlaybookStep, Task


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    fields = ["position", "title", "description", "due_in_days", "assignee"]
    extra = 1


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    """CS Ops edit playbooks here; a step due in a negative number of days is refused by the
    step's check constraint (validated on save)."""

    list_display = ["name", "risk_type", "min_severity", "is_active"]
    list_filter = ["risk_type", "is_active"]
    search_fields = ["name"]
    inlines = [PlaybookStepInline]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "assignee", "status", "due_on", "completed_at"]
    list_filter = ["status"]
    search_fields = ["title", "account__name", "account__external_id"]
    raw_id_fields = ["account", "risk", "step", "assignee", "completed_by"]
    list_select_related = ["account", "assignee"]
    readonly_fields = ["completed_at", "completed_by", "overdue_recorded_at", "created_at"]
