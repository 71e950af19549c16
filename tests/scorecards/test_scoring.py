"""The recompute service on a hand-built portfolio. Every expected number is worked out by
hand from PRODUCT.md's scoring rules."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import ProtectedError

from scorecards.models import CurrentScore, MeasureValue, ScoreRun, ScoreRunChunk, ScoreSnapshot
from scorecards.services import scoring
from tests.accounts.factories import AccountFactory
from tests.scorecards.factories import (
    BandFactory,
    ExceptionRuleFactory,
    MeasureFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
    ScoreSnapshotFactory,
)

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def enterprise_scorecard(db):
    """Outcomes (60): m1 weight 30, m2 weight 10; Experience (40): m3 weight 1. All direct.
    Bands Red 0 / Yellow 50 / Green 75. Assigned to the Enterprise segment."""
    scorecard = ScorecardFactory(name="Enterprise", priority=1, segments=["Enterprise"])
    for label, low in (("Red", 0), ("Yellow", 50), ("Green", 75)):
        BandFactory(scorecard=scorecard, label=label, min_score=Decimal(low))
    outcomes = MeasureGroupFactory(scorecard=scorecard, name="Outcomes", weight=60, position=0)
    experience = MeasureGroupFactory(scorecard=scorecard, name="Experience", weight=40, position=1)
    measures = {
        "m1": ScorecardMeasureFactory(group=outcomes, measure__key="m1", weight=30).measure,
        "m2": ScorecardMeasureFactory(group=outcomes, measure__key="m2", weight=10).measure,
        "m3": ScorecardMeasureFactory(group=experience, measure__key="m3", weight=1).measure,
    }
    return scorecard, measures


def enterprise_account(measures, **raw_by_key):
    account = AccountFactory(segment="Enterprise")
    for key, raw in raw_by_key.items():
        MeasureValueFactory(
            account=account, measure=measures[key], raw_value=raw, score=raw, as_of=AS_OF
        )
    return account


def run_day(as_of=AS_OF, **kwargs) -> ScoreRun:
    run = scoring.score_run_create(as_of=as_of, **kwargs)
    return scoring.score_run_execute_inline(run=run)


def test_score_run_writes_the_hand_worked_score(enterprise_scorecard):
    scorecard, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    snapshot = ScoreSnapshot.objects.get(account=account, as_of=AS_OF)
    # Outcomes = (30·80 + 10·40) / 40 = 70; Experience = 90
    # overall = (60·70 + 40·90) / 100 = 78.00 → Green
    assert snapshot.overall == Decimal("78.00")
    assert snapshot.band == "Green"
    assert snapshot.scorecard == scorecard
    assert snapshot.coverage == Decimal("1.0000")


def test_score_run_contributions_add_up_to_the_score(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    snapshot = ScoreSnapshot.objects.get(account=account)
    contributions = {m["key"]: m["contribution"] for m in snapshot.measure_rows}
    # m1: 0.6 · 30/40 · 80 = 36.00; m2: 0.6 · 10/40 · 40 = 6.00; m3: 0.4 · 1 · 90 = 36.00
    assert contributions == {"m1": 36.0, "m2": 6.0, "m3": 36.0}


def test_score_run_missing_group_hands_its_weight_over(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40)
    run_day()
    snapshot = ScoreSnapshot.objects.get(account=account)
    # Experience is missing: overall = Outcomes = (30·80 + 10·40) / 40 = 70.00
    # coverage = 0.6 (the Outcomes group's share of the total weight)
    assert snapshot.overall == Decimal("70.00")
    assert snapshot.coverage == Decimal("0.6000")
    assert snapshot.missing_measures == ["m3"]


def test_score_run_reports_the_biggest_lever(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    snapshot = ScoreSnapshot.objects.get(account=account)
    # m1: 0.45 · (100 − 80) = 9.00; m2: 0.15 · 60 = 9.00; m3: 0.40 · 10 = 4.00
    # tie between m1 and m2 → measure key ascending → m1
    assert snapshot.biggest_lever == {"measure": "m1", "gain": 9.0}


def test_score_run_records_fired_exceptions(enterprise_scorecard):
    scorecard, measures = enterprise_scorecard
    ExceptionRuleFactory(
        scorecard=scorecard,
        measure=measures["m3"],
        op="<=",
        value=Decimal("25"),
        action="cap_band",
        band="Red",
        reason="Experience in the floor",
    )
    account = enterprise_account(measures, m1=100, m2=100, m3=20)
    run = run_day()
    snapshot = ScoreSnapshot.objects.get(account=account)
    # overall = (60·100 + 40·20) / 100 = 68.00 (Yellow), capped to Red
    assert snapshot.overall == Decimal("68.00")
    assert snapshot.band == "Red"
    assert [e["reason"] for e in snapshot.exceptions] == ["Experience in the floor"]
    assert run.exceptions_fired == 1


def test_score_run_second_run_of_a_day_replaces_rather_than_duplicates(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    second = run_day()
    assert ScoreSnapshot.objects.filter(account=account).count() == 1
    snapshot = ScoreSnapshot.objects.get(account=account)
    assert snapshot.run == second
    assert snapshot.overall == Decimal("78.00")


def test_score_run_counts_what_it_did(enterprise_scorecard):
    _, measures = enterprise_scorecard
    enterprise_account(measures, m1=80, m2=40, m3=90)
    enterprise_account(measures)  # no values at all: not scored
    run = run_day()
    assert run.status == ScoreRun.Status.FINISHED
    assert (run.accounts_total, run.accounts_scored, run.accounts_not_scored) == (2, 1, 1)
    assert run.chunks_total == 1
    assert run.chunks_done == 1


def test_score_run_not_scored_account_has_no_score_but_a_snapshot(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures)
    run_day()
    snapshot = ScoreSnapshot.objects.get(account=account)
    assert snapshot.overall is None
    assert snapshot.band == "Not scored"
    assert snapshot.missing_measures == ["m1", "m2", "m3"]


def test_score_run_trend_against_the_snapshot_a_week_earlier(enterprise_scorecard):
    scorecard, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    ScoreSnapshotFactory(
        account=account, scorecard=scorecard, as_of=AS_OF - dt.timedelta(days=7), overall=70
    )
    run_day()
    snapshot = ScoreSnapshot.objects.get(account=account, as_of=AS_OF)
    # 78.00 − 70.00 = 8.00; nothing 30 or 90 days back
    assert (snapshot.trend_7, snapshot.trend_30, snapshot.trend_90) == (Decimal("8.00"), None, None)


def test_score_run_ignores_values_dated_after_the_day(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    MeasureValueFactory(
        account=account,
        measure=measures["m3"],
        raw_value=10,
        score=10,
        as_of=AS_OF + dt.timedelta(days=1),
    )
    run_day()
    assert ScoreSnapshot.objects.get(account=account, as_of=AS_OF).overall == Decimal("78.00")


def test_score_run_snapshots_become_current_only_when_the_run_finishes(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run = scoring.score_run_create(as_of=AS_OF)
    scoring.score_run_claim(run=run)
    scoring.score_chunk_compute(chunk=run.chunks.get())
    assert ScoreSnapshot.objects.filter(account=account).count() == 1
    assert CurrentScore.objects.filter(account=account).exists() is False
    scoring.score_run_finish(run=run)
    current = CurrentScore.objects.get(account=account)
    assert (current.as_of, current.overall, current.band) == (AS_OF, Decimal("78.00"), "Green")


def test_score_run_publishes_though_an_account_went_between_its_chunk_and_the_finish(
    enterprise_scorecard,
):
    """The race a database constraint would turn into a failed night: an account deleted
    after its chunk read it (its snapshot is written, as the chunk's transaction commits
    after the delete). The run still publishes every other account's score."""
    _, measures = enterprise_scorecard
    kept = enterprise_account(measures, m1=80, m2=40, m3=90)
    gone = enterprise_account(measures, m1=20, m2=20, m3=20)
    run = scoring.score_run_create(as_of=AS_OF)
    scoring.score_run_claim(run=run)
    scoring.score_chunk_compute(chunk=run.chunks.get())
    # The delete that raced the chunk: Django's cascade, which found no snapshot yet.
    gone.measure_values.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_account WHERE id = %s", [gone.pk])
    run = scoring.score_run_finish(run=run)
    connection.check_constraints(table_names=[CurrentScore._meta.db_table])  # as at commit
    assert run.status == ScoreRun.Status.FINISHED
    assert CurrentScore.objects.get(account=kept).overall == Decimal("78.00")


def test_deleting_an_account_deletes_its_current_score_and_snapshots(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    account.delete()
    assert not CurrentScore.objects.filter(account_id=account.pk).exists()
    assert not ScoreSnapshot.objects.filter(account_id=account.pk).exists()


def test_deleting_an_account_deletes_its_measure_values_and_a_measure_in_use_is_kept(
    enterprise_scorecard,
):
    """The values keep no database constraint (MeasureValue): Django's cascade and
    protection are what hold."""
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    kept = enterprise_account(measures, m1=10, m2=10, m3=10)
    account.delete()
    assert not MeasureValue.objects.filter(account_id=account.pk).exists()
    with pytest.raises(ProtectedError):
        measures["m1"].delete()
    assert MeasureValue.objects.filter(account=kept).count() == 3


def test_score_run_backfill_of_an_older_day_keeps_the_newer_current_score(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    run_day(as_of=AS_OF - dt.timedelta(days=3))
    assert CurrentScore.objects.get(account=account).as_of == AS_OF


def test_score_run_splits_accounts_into_chunks(enterprise_scorecard):
    _, measures = enterprise_scorecard
    accounts = [enterprise_account(measures, m1=50, m2=50, m3=50) for _ in range(5)]
    run = scoring.score_run_create(as_of=AS_OF, chunk_size=2)
    ranges = list(run.chunks.values_list("first_account_id", "last_account_id"))
    ids = [a.pk for a in accounts]
    assert ranges == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[4])]
    scoring.score_run_execute_inline(run=run)
    assert ScoreSnapshot.objects.filter(as_of=AS_OF).count() == 5


def test_score_chunk_scored_twice_is_counted_once(enterprise_scorecard):
    _, measures = enterprise_scorecard
    enterprise_account(measures, m1=80, m2=40, m3=90)
    run = scoring.score_run_create(as_of=AS_OF)
    scoring.score_run_claim(run=run)
    chunk = run.chunks.get()
    scoring.score_chunk_compute(chunk=chunk)
    assert scoring.score_chunk_compute(chunk=chunk) is None  # a redelivered message
    finished = scoring.score_run_finish(run=run)
    assert (finished.accounts_scored, finished.chunks_done) == (1, 1)


def test_score_run_invalid_scorecard_is_a_per_account_error_not_a_crash(enterprise_scorecard):
    _, measures = enterprise_scorecard
    good = enterprise_account(measures, m1=80, m2=40, m3=90)
    broken = ScorecardFactory(name="Broken", priority=2, segments=["SMB"])
    BandFactory(scorecard=broken)
    group = MeasureGroupFactory(scorecard=broken, name="Only")
    # Steps out of order cannot come through the admin, but could through a raw edit.
    ScorecardMeasureFactory(
        group=group, measure=MeasureFactory(mapping_type="steps", steps=[[3, 50], [1, 0]])
    )
    bad = AccountFactory(segment="SMB")
    run = run_day()
    assert run.status == ScoreRun.Status.FINISHED
    assert (run.accounts_scored, run.accounts_failed) == (1, 1)
    assert run.errors[0]["account_id"] == bad.pk
    assert "ascending" in run.errors[0]["error"]
    assert ScoreSnapshot.objects.filter(account=bad).exists() is False
    assert ScoreSnapshot.objects.get(account=good).overall == Decimal("78.00")


def test_score_run_scorecard_without_measures_is_a_per_account_error(enterprise_scorecard):
    empty = ScorecardFactory(name="Empty", priority=2, segments=["SMB"])
    BandFactory(scorecard=empty)
    account = AccountFactory(segment="SMB")
    run = run_day()
    assert run.accounts_failed == 1
    assert run.errors[0]["account_id"] == account.pk
    assert "no measures" in run.errors[0]["error"]


def test_score_run_skips_churned_accounts(enterprise_scorecard):
    _, measures = enterprise_scorecard
    churned = enterprise_account(measures, m1=80, m2=40, m3=90)
    churned.status = "churned"
    churned.save()
    run = run_day()
    assert run.accounts_total == 0
    assert ScoreSnapshot.objects.exists() is False


def test_account_rescore_makes_the_new_value_current_at_once(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    run_day()
    MeasureValueFactory(
        account=account,
        measure=measures["m3"],
        raw_value=40,
        score=40,
        as_of=AS_OF,
        source="manual",
    )
    run = scoring.account_rescore(account=account, as_of=AS_OF)
    # Experience is now 40: overall = (60·70 + 40·40) / 100 = 58.00 → Yellow
    assert run.is_full is False
    current = CurrentScore.objects.get(account=account)
    assert (current.overall, current.band) == (Decimal("58.00"), "Yellow")


def test_score_run_start_enqueues_after_commit(
    enterprise_scorecard, django_capture_on_commit_callbacks
):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = scoring.score_run_start(as_of=AS_OF)
    assert len(callbacks) == 1
    assert ScoreSnapshot.objects.filter(account=account).exists() is False
    callbacks[0]()  # inline in tests: runs the chord at once
    run.refresh_from_db()
    assert run.status == ScoreRun.Status.FINISHED
    assert ScoreSnapshot.objects.get(account=account).overall == Decimal("78.00")


def test_recompute_scores_command_prints_a_summary(enterprise_scorecard, capsys):
    _, measures = enterprise_scorecard
    enterprise_account(measures, m1=80, m2=40, m3=90)
    enterprise_account(measures)
    call_command("recompute_scores", "--date", "2026-11-20", "--no-progress")
    out = capsys.readouterr().out
    assert "1 accounts scored, 1 not scored, 0 failed, 0 exceptions fired" in out


def test_recompute_scores_command_backfills_days_for_one_account(enterprise_scorecard):
    _, measures = enterprise_scorecard
    account = enterprise_account(measures, m1=80, m2=40, m3=90)
    other = enterprise_account(measures, m1=80, m2=40, m3=90)
    call_command(
        "recompute_scores",
        "--date",
        "2026-11-20",
        "--days",
        "3",
        "--account",
        account.external_id,
        "--no-progress",
    )
    assert sorted(
        ScoreSnapshot.objects.filter(account=account).values_list("as_of", flat=True)
    ) == [
        dt.date(2026, 11, 18),
        dt.date(2026, 11, 19),
        dt.date(2026, 11, 20),
    ]
    assert ScoreSnapshot.objects.filter(account=other).exists() is False
    assert ScoreRunChunk.objects.filter(status="done").count() == 3
