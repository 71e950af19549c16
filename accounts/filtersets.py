"""Filters for account, contact, touchpoint and renewal lists, shared by the API and pages."""

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Account, Contact, RenewalOutcome, Touchpoint
from healthscore.filters import IdFilter, ScoreFilter, TrueOrFalseFilter

# risk.choices.UNRESOLVED_STATUSES: accounts may not import risk (the arrows point the other
# way), so the statuses are repeated here; tests/api/test_filtersets.py checks they agree.
OPEN_RISK_STATUSES = ("open", "acknowledged", "mitigating")


def accounts_with_open_risk_q() -> Exists:
    from django.apps import apps  # the Risk model by name: no import of the risk app

    risk_model = apps.get_model("risk", "Risk")
    return Exists(risk_model.objects.filter(account=OuterRef("pk"), status__in=OPEN_RISK_STATUSES))


class AccountFilterSet(django_filters.FilterSet):
    """owner, segment, tier, region, lifecycle, status; band and score range from the current
    score; renewal date range; has_open_risk; q = text in the name or external_id."""

    owner = IdFilter(field_name="owner_id")
    owner_email = django_filters.CharFilter(field_name="owner__email", lookup_expr="iexact")
    segment = django_filters.CharFilter()
    tier = django_filters.CharFilter()
    region = django_filters.CharFilter()
    lifecycle = django_filters.ChoiceFilter(choices=Account.Lifecycle.choices)
    status = django_filters.ChoiceFilter(choices=Account.Status.choices)
    band = django_filters.CharFilter(field_name="current_score__band")
    score_min = ScoreFilter(field_name="current_score__overall", lookup_expr="gte")
    score_max = ScoreFilter(field_name="current_score__overall", lookup_expr="lte")
    renewal_after = django_filters.DateFilter(field_name="renewal_date", lookup_expr="gte")
    renewal_before = django_filters.DateFilter(field_name="renewal_date", lookup_expr="lte")
    has_open_risk = TrueOrFalseFilter(method="filter_has_open_risk")
    q = django_filters.CharFilter(method="filter_text")

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_has_open_risk(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        has_risk = accounts_with_open_risk_q()
        return queryset.filter(has_risk if value else ~has_risk)

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value))


class ContactFilterSet(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__external_id")
    role = django_filters.ChoiceFilter(choices=Contact.Role.choices)
    is_active = TrueOrFalseFilter()
    q = django_filters.CharFilter(method="filter_text")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(external_id=value)
        )


class TouchpointFilterSet(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__external_id")
    kind = django_filters.ChoiceFilter(choices=Touchpoint.Kind.choices)
    occurred_after = django_filters.DateFilter(field_name="occurred_on", lookup_expr="gte")
    occurred_before = django_filters.DateFilter(field_name="occurred_on", lookup_expr="lte")

    class Meta:
        model = Touchpoint
        fields: list[str] = []


class RenewalOutcomeFilterSet(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__external_id")
    outcome = django_filters.ChoiceFilter(choices=RenewalOutcome.Outcome.choices)
    renewal_after = django_filters.DateFilter(field_name="renewal_date", lookup_expr="gte")
    renewal_before = django_filters.DateFilter(field_name="renewal_date", lookup_expr="lte")

    class Meta:
        model = RenewalOutcome
        fields: list[str] = []
