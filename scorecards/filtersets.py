"""Filters for measure values, snapshots and score runs, shared by the API and pages."""

import django_filters

from healthscore.filters import IdFilter
from scorecards.choices import ValueSource
from scorecards.models import BacktestRun, MeasureValue, ScoreRun


class MeasureValueFilterSet(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__external_id")
    measure = django_filters.CharFilter(field_name="measure__key")
    source = django_filters.ChoiceFilter(choices=ValueSource.choices)
    as_of_after = django_filters.DateFilter(field_name="as_of", lookup_expr="gte")
    as_of_before = django_filters.DateFilter(field_name="as_of", lookup_expr="lte")

    class Meta:
        model = MeasureValue
        fields: list[str] = []


class ScoreRunFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ScoreRun.Status.choices)
    as_of = django_filters.DateFilter()

    class Meta:
        model = ScoreRun
        fields: list[str] = []


class BacktestRunFilterSet(django_filters.FilterSet):
    # By id, not a ModelChoiceFilter: a scorecard with no runs, or none at all, lists no runs
    # rather than refusing the request.
    scorecard = IdFilter(field_name="scorecard_id")
    status = django_filters.ChoiceFilter(choices=BacktestRun.Status.choices)

    class Meta:
        model = BacktestRun
        fields: list[str] = []
