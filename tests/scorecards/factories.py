import datetime as dt
from decimal import Decimal

import factory

from scorecards.choices import ExceptionAction, MappingType, MeasureKind, ValueSource
from scorecards.models import (
    Band,
    ExceptionRule,
    Measure,
    MeasureGroup,
    MeasureValue,
    Scorecard,
    ScorecardMeasure,
    ScoreRun,
    ScoreSnapshot,
)
from tests.accounts.factories import AccountFactory


class ScorecardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scorecard

    name = factory.Sequence(lambda n: f"Scorecard {n}")
    priority = 10


class BandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Band

    scorecard = factory.SubFactory(ScorecardFactory)
    label = "Red"
    min_score = Decimal("0")


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure

    key = factory.Sequence(lambda n: f"measure_{n}")
    name = factory.LazyAttribute(lambda m: m.key.replace("_", " ").title())
    kind = MeasureKind.AUTOMATED
    mapping_type = MappingType.DIRECT


class MeasureGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeasureGroup

    scorecard = factory.SubFactory(ScorecardFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    weight = Decimal("50")


class ScorecardMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScorecardMeasure

    group = factory.SubFactory(MeasureGroupFactory)
    scorecard = factory.SelfAttribute("group.scorecard")
    measure = factory.SubFactory(MeasureFactory)
    weight = Decimal("10")


class ExceptionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExceptionRule

    scorecard = factory.SubFactory(ScorecardFactory)
    measure = factory.SubFactory(MeasureFactory)
    op = "<="
    value = Decimal("25")
    action = ExceptionAction.FLAG
    reason = "Low score"


class MeasureValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeasureValue

    account = factory.SubFactory(AccountFactory)
    measure = factory.SubFactory(MeasureFactory)
    raw_value = 50.0
    score = Decimal("50.00")
    as_of = dt.date(2026, 11, 1)
    source = ValueSource.API


class ScoreRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoreRun

    as_of = dt.date(2026, 11, 1)


class ScoreSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoreSnapshot

    account = factory.SubFactory(AccountFactory)
    as_of = dt.date(2026, 11, 1)
    scorecard = factory.LazyFunction(lambda: Scorecard.objects.get(is_default=True))
    scorecard_version = 1
    overall = Decimal("72.50")
    computed = Decimal("72.50")
    band = "Yellow"
    coverage = Decimal("1.0000")
