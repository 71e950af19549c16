import pytest
from django.db import IntegrityError

from risk.choices import RiskStatus
from tests.risk.factories import RiskFactory


@pytest.mark.django_db
def test_risk_second_open_risk_of_the_same_type_is_refused():
    risk = RiskFactory()
    with pytest.raises(IntegrityError):
        RiskFactory(account=risk.account, risk_type=risk.risk_type)


@pytest.mark.django_db
def test_risk_of_the_same_type_may_open_again_after_resolution():
    risk = RiskFactory(status=RiskStatus.RESOLVED)
    again = RiskFactory(account=risk.account, risk_type=risk.risk_type)
    assert again.status == RiskStatus.OPEN
