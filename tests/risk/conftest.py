"""Hand-built portfolios for the risk rules: snapshots, sentiment values, contacts and
touchpoints set directly with the factories."""

import datetime as dt
from decimal import Decimal

import pytest

from risk.models import Risk, RiskRule
from scorecards.models import Measure
from tests.accounts.factories import ContactFactory, TouchpointFactory
from tests.scorecards.factories import MeasureValueFactory, ScoreSnapshotFactory

AS_OF = dt.date(2026, 11, 20)

# The default csm_sentiment mapping: raw 1–5 → score 0, 25, 50, 75, 100.
SENTIMENT_RAW = {0: 1, 25: 2, 50: 3, 75: 4, 100: 5}


def rules_only(*risk_types: str) -> None:
    """Disable every risk rule but these, so a test sees one rule at work."""
    RiskRule.objects.exclude(risk_type__in=risk_types).update(is_enabled=False)


def rule_set(risk_type: str, **fields) -> None:
    RiskRule.objects.filter(risk_type=risk_type).update(**fields)


def sentiment(account, score: int, *, as_of: dt.date = AS_OF):
    return MeasureValueFactory(
        account=account,
        measure=Measure.objects.get(key="csm_sentiment"),
        raw_value=SENTIMENT_RAW[score],
        score=Decimal(score),
        as_of=as_of,
        source="manual",
    )


def snapshot(account, *, as_of: dt.date = AS_OF, overall: str = "60.00", band: str = "Yellow"):
    return ScoreSnapshotFactory(
        account=account, as_of=as_of, overall=Decimal(overall), computed=Decimal(overall), band=band
    )


def sponsor(account, *, role: str = "executive_sponsor", **fields):
    return ContactFactory(account=account, role=role, **fields)


def touch(account, contacts, *, days_ago: int):
    touchpoint = TouchpointFactory(account=account, occurred_on=AS_OF - dt.timedelta(days=days_ago))
    touchpoint.contacts.set(contacts)
    return touchpoint


def open_risks(account, risk_type: str | None = None) -> list[Risk]:
    risks = Risk.objects.filter(account=account, status__in=["open", "acknowledged", "mitigating"])
    if risk_type is not None:
        risks = risks.filter(risk_type=risk_type)
    return list(risks.order_by("risk_type"))


@pytest.fixture
def leader(db):
    from tests.accounts.factories import UserFactory

    return UserFactory(username="leader", role="CS Leader")
