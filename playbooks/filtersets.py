"""Filters for task lists, shared by the API and pages."""

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from healthscore.api import external_id_or_pk_q
from healthscore.filters import IdFilter, TrueOrFalseFilter
from playbooks.choices import TaskStatus
from playbooks.models import Playbook, Task
from risk.choices import RiskType


class TaskFilterSet(django_filters.FilterSet):
    account = django_filters.CharFilter(method="filter_account")
    assignee = IdFilter(field_name="assignee_id")
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    overdue = TrueOrFalseFilter(method="filter_overdue")

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """By the account's external_id or id."""
        return queryset.filter(external_id_or_pk_q(value, prefix="account__"))

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        """Overdue: open and due before today."""
        overdue = {"status": TaskStatus.OPEN, "due_on__lt": timezone.localdate()}
        return queryset.filter(**overdue) if value else queryset.exclude(**overdue)


class PlaybookFilterSet(django_filters.FilterSet):
    risk_type = django_filters.ChoiceFilter(choices=RiskType.choices)
    active = TrueOrFalseFilter(field_name="is_active")

    class Meta:
        model = Playbook
        fields: list[str] = []
