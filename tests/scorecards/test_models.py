import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from scorecards.models import MeasureValue, ScoreSnapshot
from tests.scorecards.factories import (
    MeasureFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardMeasureFactory,
    ScoreSnapshotFactory,
)


@pytest.mark.django_db
def test_measure_value_non_numeric_raw_value_is_refused_at_save(account):
    value = MeasureValue(
        account=account,
        measure=MeasureFactory(),
        raw_value="lots",
        score=Decimal("50"),
        as_of=dt.date(2026, 11, 1),
        source="api",
    )
    with pytest.raises(ValidationError) as error:
        value.full_clean()
    assert "raw_value" in error.value.message_dict


@pytest.mark.django_db
def test_measure_group_zero_weight_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        MeasureGroupFactory(weight=Decimal("0"))


@pytest.mark.django_db
def test_scorecard_measure_zero_weight_is_refused_at_validation():
    member = ScorecardMeasureFactory.build(weight=Decimal("0"))
    with pytest.raises(ValidationError) as error:
        member.clean_fields(exclude=["scorecard", "group", "measure"])
    assert error.value.message_dict["weight"] == ["Weights must be positive."]


@pytest.mark.django_db
def test_measure_value_same_account_measure_day_and_source_is_one_value():
    value = MeasureValueFactory()
    with pytest.raises(IntegrityError):
        MeasureValueFactory(
            account=value.account, measure=value.measure, as_of=value.as_of, source=value.source
        )


@pytest.mark.django_db
def test_measure_value_same_day_from_another_source_is_kept():
    value = MeasureValueFactory(source="api")
    MeasureValueFactory(
        account=value.account, measure=value.measure, as_of=value.as_of, source="manual"
    )
    assert MeasureValue.objects.filter(account=value.account).count() == 2


@pytest.mark.django_db
def test_score_snapshot_second_for_the_same_day_is_refused():
    snapshot = ScoreSnapshotFactory()
    with pytest.raises(IntegrityError):
        ScoreSnapshotFactory(account=snapshot.account, as_of=snapshot.as_of)


@pytest.mark.django_db
def test_score_snapshot_measure_rows_name_their_fields():
    snapshot = ScoreSnapshotFactory(
        measures=[["adoption", 1, 0.5, 50.0, "2026-11-01", False, 30.0, 0.25, 12.5]]
    )
    assert ScoreSnapshot.objects.get(pk=snapshot.pk).measure_rows == [
        {
            "key": "adoption",
            "group_id": 1,
            "raw_value": 0.5,
            "score": 50.0,
            "as_of": "2026-11-01",
            "stale": False,
            "weight": 30.0,
            "effective_weight": 0.25,
            "contribution": 12.5,
        }
    ]


@pytest.mark.django_db
def test_score_snapshot_follows_its_account_run_and_scorecard_without_database_constraints():
    """The snapshot table has no foreign-key constraints (nightly inserts would check three a
    row); Django still keeps what they kept: an account's snapshots go with it, a run's are
    kept without it, a scorecard with snapshots cannot go."""
    from django.db.models import ProtectedError

    from scorecards.models import ScoreRun

    run = ScoreRun.objects.create(as_of=dt.date(2026, 11, 20))
    kept = ScoreSnapshotFactory(run=run)
    gone = ScoreSnapshotFactory()

    run.delete()
    gone.account.delete()

    kept.refresh_from_db()
    assert kept.run_id is None
    assert not ScoreSnapshot.objects.filter(pk=gone.pk).exists()
    with pytest.raises(ProtectedError):
        kept.scorecard.delete()
