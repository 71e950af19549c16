"""sponsor_engagement and sponsor_coverage computed from contacts and touchpoints."""

from decimal import Decimal

import pytest

from risk.services import sponsor_measures_compute
from scorecards.models import Measure, MeasureValue
from tests.accounts.factories import ContactFactory
from tests.risk.conftest import AS_OF, sponsor, touch
from tests.scorecards.factories import MeasureValueFactory

pytestmark = pytest.mark.django_db


def computed(account) -> dict[str, tuple[float, Decimal]]:
    return {
        key: (raw, score)
        for key, raw, score in MeasureValue.objects.filter(
            account=account, as_of=AS_OF, source="computed"
        ).values_list("measure__key", "raw_value", "score")
    }


def test_sponsor_measures_from_the_last_sponsor_touchpoint(account):
    ceo = sponsor(account)
    touch(account, [ceo], days_ago=40)
    touch(account, [ceo], days_ago=30)
    sponsor_measures_compute(as_of=AS_OF)
    # engagement: linear 0–90 days, lower is better: (1 − 30/90) × 100 = 66.67
    # coverage: steps [[0, 0], [1, 100]] → 1 scores 100
    assert computed(account) == {
        "sponsor_engagement": (30.0, Decimal("66.67")),
        "sponsor_coverage": (1.0, Decimal("100.00")),
    }


def test_sponsor_measures_ignore_touchpoints_with_other_contacts(account):
    touch(account, [ContactFactory(account=account, role="champion")], days_ago=1)
    touch(account, [sponsor(account, role="decision_maker")], days_ago=45)
    sponsor_measures_compute(as_of=AS_OF)
    # engagement: (1 − 45/90) × 100 = 50.00; a decision maker is no executive sponsor
    assert computed(account) == {
        "sponsor_engagement": (45.0, Decimal("50.00")),
        "sponsor_coverage": (0.0, Decimal("0.00")),
    }


def test_sponsor_measures_without_a_sponsor_touchpoint(account):
    sponsor_measures_compute(as_of=AS_OF)
    assert computed(account) == {
        "sponsor_engagement": (365.0, Decimal("0.00")),
        "sponsor_coverage": (0.0, Decimal("0.00")),
    }


def test_sponsor_measures_computed_twice_keep_one_value_each(account):
    ceo = sponsor(account)
    sponsor_measures_compute(as_of=AS_OF)
    touch(account, [ceo], days_ago=9)
    written = sponsor_measures_compute(as_of=AS_OF)
    # engagement: (1 − 9/90) × 100 = 90.00
    assert (written, computed(account)) == (
        2,
        {
            "sponsor_engagement": (9.0, Decimal("90.00")),
            "sponsor_coverage": (1.0, Decimal("100.00")),
        },
    )


def test_sponsor_measures_leave_other_sources_alone(account):
    api_value = MeasureValueFactory(
        account=account,
        measure=Measure.objects.get(key="sponsor_coverage"),
        raw_value=1,
        score=100,
        as_of=AS_OF,
        source="api",
    )
    sponsor_measures_compute(as_of=AS_OF)
    assert (
        MeasureValue.objects.filter(pk=api_value.pk).values_list("raw_value", flat=True)[0] == 1.0
    )
