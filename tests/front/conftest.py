"""Scored accounts for the web pages, built with the factories and the real scoring service
on the default scorecard that the migrations create (Outcomes 50, Experience 30,
Relationship 20; bands Red 0 / Yellow 50 / Green 75)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from scorecards.choices import ValueSource
from scorecards.models import Measure, MeasureValue
from scorecards.services import scoring
from scorecards.services.versions import scorecard_version_create
from tests.accounts.factories import UserFactory
from tests.learning.conftest import (  # noqa: F401 (a fixture)
    renewals_scorecard,
    separable_portfolio,
)


def today() -> dt.date:
    return timezone.localdate()


def measure_value(account, key: str, raw: float, score: float, as_of: dt.date, **extra):
    """A measure value; `score` is worked out by hand from the measure's mapping."""
    return MeasureValue.objects.create(
        account=account,
        measure=Measure.objects.get(key=key),
        raw_value=raw,
        score=Decimal(str(score)),
        as_of=as_of,
        source=extra.pop("source", ValueSource.API),
        **extra,
    )


def score_day(as_of: dt.date) -> None:
    """Score every active account for one day, as the nightly run does."""
    run = scoring.score_run_create(as_of=as_of)
    scoring.score_run_execute_inline(run=run)


@pytest.fixture(autouse=True)
def empty_cache():
    """The portfolio caches its trend per finished run; ids repeat from test to test."""
    cache.clear()


@pytest.fixture
def leader(db):
    return UserFactory(username="lee", first_name="Lee", last_name="Leader", role="CS Leader")


@pytest.fixture
def other_csm(db):
    return UserFactory(username="other", role="CSM")


@pytest.fixture
def ops(db):
    return UserFactory(username="ops", role="CS Ops")


@pytest.fixture
def scorecard(renewals_scorecard):  # noqa: F811
    """The "Renewals" scorecard (tests/learning/conftest.py) published as version 1, with 30
    renewal outcomes that usage separates perfectly."""
    scorecard_version_create(scorecard=renewals_scorecard, user=None)
    separable_portfolio(renewals_scorecard)
    return renewals_scorecard


def adoption_account(owner, adoption: float, as_of: dt.date, **fields):
    """An account whose only value is adoption (linear 0–1 → 0–100): only Outcomes is present
    and only adoption in it, so once scored its overall is adoption × 100."""
    from tests.accounts.factories import AccountFactory

    account = AccountFactory(owner=owner, **fields)
    measure_value(account, "adoption", adoption, adoption * 100, as_of)
    return account
