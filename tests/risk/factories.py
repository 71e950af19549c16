import datetime as dt

import factory

from risk.choices import RiskStatus, RiskType, Severity
from risk.models import Risk
from tests.accounts.factories import AccountFactory


class RiskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Risk

    account = factory.SubFactory(AccountFactory)
    risk_type = RiskType.LOW_SENTIMENT
    severity = Severity.HIGH
    status = RiskStatus.OPEN
    raised_by = "rule:low_sentiment"
    opened_at = factory.LazyFunction(lambda: dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC))
