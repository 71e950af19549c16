"""Filters for the delivery log, shared by the API (and any page that lists deliveries)."""

import django_filters

from events.choices import DeliveryStatus, EventType
from events.models import Delivery
from healthscore.filters import MomentFilter


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(
        field_name="event__event_type", choices=EventType.choices
    )
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Delivery
        fields: list[str] = []
