"""Filters that read a query value the way the API means it."""

import django_filters
from django_filters.fields import IsoDateTimeField

from healthscore.dates import moment_in_utc


class MomentField(IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        return None if moment is None else moment_in_utc(moment)


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An RFC 3339 date-time, compared in UTC (whatever its offset)."""

    field_class = MomentField
