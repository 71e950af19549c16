from django.contrib import admin

from metrics.models import Metric, MetricValue


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "unit", "created_at"]
    search_fields = ["key", "name"]


@admin.register(MetricValue)
class MetricValueAdmin(admin.ModelAdmin):
    """Read-mostly: values arrive through the API and the CSV import."""

    list_display = ["date", "account", "metric", "value"]
    list_filter = ["metric"]
    list_select_related = ["account", "metric"]
    raw_id_fields = ["account"]
    date_hierarchy = "date"
    show_full_result_count = False  # counting a partitioned table of millions is slow
