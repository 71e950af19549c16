"""Filters that read a query value as strictly as the OpenAPI schema describes it.

django-filter's own are lenient: a BooleanFilter takes `?is_open=-1` as "no filter" and a
NumberFilter takes `?owner=1.5`. The API answers those with a 400 instead, so that a client
with a typo hears about it rather than getting an unfiltered list. An empty value
(`?is_open=`) still means "not given", as everywhere in the API.
"""

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from healthscore.dates import moment_in_utc


class TrueOrFalseField(forms.Field):
    """`true` or `false` (any case); empty is None."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        spelled = str(value).lower()
        if spelled not in ("true", "false"):
            raise forms.ValidationError("Give true or false.", code="invalid")
        return spelled == "true"


@extend_schema_field({"type": "boolean"})
class TrueOrFalseFilter(django_filters.BooleanFilter):
    field_class = TrueOrFalseField


class MomentField(IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        return None if moment is None else moment_in_utc(moment)


class MomentFilter(django_filters.IsoDateTimeFilter):
    """An RFC 3339 date-time, compared in UTC (whatever its offset)."""

    field_class = MomentField


@extend_schema_field({"type": "integer", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number from 1."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, **kwargs)

    def get_max_validator(self):
        return None  # an id past the last row matches nothing


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 100})
class ScoreFilter(django_filters.NumberFilter):
    """A health score, 0 to 100."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=0, max_value=100, **kwargs)
