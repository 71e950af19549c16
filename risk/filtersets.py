"""Filters for risk lists, shared by the API and pages."""

import django_filters
from django.db.models import QuerySet

from healthscore.filters import IdFilter, TrueOrFalseFilter
from risk.choices import UNRESOLVED_STATUSES, RiskStatus, RiskType, Severity
from risk.models import Risk


class RiskFilterSet(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__external_id")
    risk_type = django_filters.ChoiceFilter(choices=RiskType.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    status = django_filters.ChoiceFilter(choices=RiskStatus.choices)
    owner = IdFilter(field_name="owner_id")
    is_open = TrueOrFalseFilter(method="filter_is_open")
    opened_after = django_filters.DateFilter(field_name="opened_at", lookup_expr="date__gte")
    opened_before = django_filters.DateFilter(field_name="opened_at", lookup_expr="date__lte")

    class Meta:
        model = Risk
        fields: list[str] = []

    def filter_is_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value:
            return queryset.filter(status__in=UNRESOLVED_STATUSES)
        return queryset.exclude(status__in=UNRESOLVED_STATUSES)
