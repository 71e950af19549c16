"""History on PostgreSQL: monthly partitions of snapshots and values, the default partition
and its drain, retention (thinning and dropping whole months), and reads across months."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from scorecards import selectors
from scorecards.models import MeasureValue, RetentionPolicy, ScoreSnapshot
from scorecards.services import partitions, retention
from tests.accounts.factories import AccountFactory
from tests.front.conftest import measure_value, score_day
from tests.scorecards.factories import MeasureFactory, MeasureValueFactory, ScoreSnapshotFactory

SNAPSHOTS = "scorecards_scoresnapshot"
VALUES = "scorecards_measurevalue"


def where(table: str, pk: int) -> str:
    """The partition that holds the row."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def names(table: str) -> list[str]:
    return [p.name for p in partitions.partitions_list(table)]


def test_migration_made_this_month_and_three_ahead_and_a_default(postgres):
    month = dt.date.today().replace(day=1)
    for table in (SNAPSHOTS, VALUES):
        expected = [
            partitions.partition_name(table, partitions.month_add(month, n)) for n in range(4)
        ]
        assert names(table)[-5:] == [*expected, f"{table}_default"]


def test_maintenance_creates_the_months_ahead_once(postgres):
    result = partitions.partitions_maintain(today=dt.date(2031, 5, 17))
    months = ["2031_05", "2031_06", "2031_07", "2031_08"]
    assert result.created == [f"{t}_p{m}" for t in (SNAPSHOTS, VALUES) for m in months]
    assert result.moved == {SNAPSHOTS: 0, VALUES: 0}
    assert names(VALUES)[-5:] == [*(f"{VALUES}_p{m}" for m in months), f"{VALUES}_default"]
    assert partitions.partitions_maintain(today=dt.date(2031, 5, 17)).created == []


def test_rows_outside_the_partitions_wait_in_the_default_one_then_move(postgres, account):
    value = MeasureValueFactory(account=account, as_of=dt.date(2024, 3, 10), raw_value=7.0)
    snapshot = ScoreSnapshotFactory(account=account, as_of=dt.date(2024, 3, 11))
    assert where(VALUES, value.pk) == f"{VALUES}_default"
    assert where(SNAPSHOTS, snapshot.pk) == f"{SNAPSHOTS}_default"

    result = partitions.partitions_maintain(today=dt.date.today())

    assert result.moved == {SNAPSHOTS: 1, VALUES: 1}
    assert where(VALUES, value.pk) == f"{VALUES}_p2024_03"
    assert where(SNAPSHOTS, snapshot.pk) == f"{SNAPSHOTS}_p2024_03"
    assert MeasureValue.objects.get(pk=value.pk).raw_value == 7.0
    assert ScoreSnapshot.objects.get(pk=snapshot.pk).overall == Decimal("72.50")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {VALUES}_default")
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("as_of", [dt.date(2024, 3, 10), dt.date(2026, 11, 20)])
def test_constraints_refuse_duplicates_before_and_after_a_move(postgres, account, as_of):
    """Wherever the row is (the default partition, its month's), and after the drain."""
    measure = MeasureFactory()
    value = MeasureValueFactory(account=account, measure=measure, as_of=as_of)
    ScoreSnapshotFactory(account=account, as_of=as_of)
    for _ in ("where it landed", "in its month's partition"):
        with pytest.raises(IntegrityError), transaction.atomic():
            MeasureValueFactory(account=account, measure=measure, as_of=as_of)
        with pytest.raises(IntegrityError), transaction.atomic():
            ScoreSnapshotFactory(account=account, as_of=as_of)
        partitions.partitions_ensure(first=as_of, last=as_of)
    assert where(VALUES, value.pk) == f"{VALUES}_p{as_of.year}_{as_of.month:02d}"
    assert MeasureValue.objects.filter(account=account).count() == 1
    assert ScoreSnapshot.objects.filter(account=account).count() == 1


# --- Latest values: the default partition left out only when it holds nothing they need ------


def latest_probe_plan(account, on: dt.date) -> str:
    since = partitions.history_lower_bound(table=VALUES, on_or_before=on)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {selectors.LATEST_BY_PROBE}", [on, since, account.pk, account.pk])
        return "\n".join(row[0] for row in cursor.fetchall())


def test_latest_value_probes_skip_an_empty_default_partition(postgres, account):
    on = dt.date.today()
    oldest = partitions.partitions_list(VALUES)[0].start
    # A straggler dated after the day (no month made for it yet) does not count.
    MeasureValueFactory(account=account, as_of=dt.date(2031, 1, 5))

    assert partitions.history_lower_bound(table=VALUES, on_or_before=on) == oldest
    assert f"{VALUES}_default" not in latest_probe_plan(account, on)

    MeasureValueFactory(account=account, as_of=dt.date(2024, 3, 10))

    assert partitions.history_lower_bound(table=VALUES, on_or_before=on) == dt.date(1, 1, 1)
    assert f"{VALUES}_default" in latest_probe_plan(account, on)


@pytest.mark.parametrize("strategy", ["scan", "probe", "of_accounts"])
def test_latest_values_read_a_value_waiting_in_the_default_partition(postgres, account, strategy):
    old, recent = MeasureFactory(key="m_old"), MeasureFactory(key="m_recent")
    straggler = MeasureValueFactory(
        account=account, measure=old, as_of=dt.date(2024, 3, 10), raw_value=4.0
    )
    MeasureValueFactory(account=account, measure=recent, as_of=dt.date.today(), raw_value=6.0)
    assert where(VALUES, straggler.pk) == f"{VALUES}_default"

    if strategy == "of_accounts":
        frame = selectors.latest_values_of_accounts_frame(
            account_ids=[account.pk], as_of=dt.date.today()
        )
    else:
        frame = selectors.latest_values_frame(
            first_id=account.pk, last_id=account.pk, as_of=dt.date.today(), strategy=strategy
        )

    latest = dict(zip(frame["measure_id"], frame["raw_value"], strict=True))
    assert latest == {old.pk: 4.0, recent.pk: 6.0}


# --- Retention -----------------------------------------------------------------------------------


@pytest.fixture
def history(postgres, account):
    """Account A: a snapshot every day of September and October 2026. Account B: September
    14 (its current score) and 15. Values on the 10th of August to November."""
    partitions.partitions_ensure(first=dt.date(2026, 8, 1), last=dt.date(2026, 11, 30))
    other = AccountFactory(owner=account.owner)
    day = dt.date(2026, 9, 1)
    while day <= dt.date(2026, 10, 31):
        ScoreSnapshotFactory(account=account, as_of=day)
        day += dt.timedelta(days=1)
    current = ScoreSnapshotFactory(account=other, as_of=dt.date(2026, 9, 14))
    ScoreSnapshotFactory(account=other, as_of=dt.date(2026, 9, 15))
    from scorecards.models import CurrentScore

    CurrentScore.objects.create(
        account=other,
        snapshot=current,
        scorecard=current.scorecard,
        as_of=current.as_of,
        overall=current.overall,
        band=current.band,
    )
    measure = MeasureFactory()
    for month in (8, 9, 10, 11):
        MeasureValueFactory(account=account, measure=measure, as_of=dt.date(2026, month, 10))
    return account, other


def test_retention_thins_whole_old_months_and_drops_old_value_months(history):
    account, other = history
    policy = RetentionPolicy(pk=1, daily_snapshot_days=90, value_months=2)

    # 90 days before December 31 is October 2: September is wholly older, October is not.
    # Values: two whole months before December are kept (October, November).
    result = retention.retention_apply(today=dt.date(2026, 12, 31), policy=policy)

    assert (result.snapshot_cutoff, result.value_cutoff) == (dt.date(2026, 10, 1),) * 2
    assert result.thinned == {f"{SNAPSHOTS}_p2026_09": (32, 7)}
    assert result.dropped == [f"{VALUES}_p2026_08", f"{VALUES}_p2026_09"]
    # Weeks from Monday: Sep 1–6, 7–13, 14–20, 21–27, 28–30 keep their last day.
    september = ScoreSnapshot.objects.filter(account=account, as_of__month=9)
    assert sorted(s.as_of.day for s in september) == [6, 13, 20, 27, 30]
    assert ScoreSnapshot.objects.filter(account=account, as_of__month=10).count() == 31
    # B keeps its current score (14th) and the last of that week (15th).
    assert sorted(s.as_of.day for s in ScoreSnapshot.objects.filter(account=other)) == [14, 15]
    assert sorted(v.as_of.month for v in MeasureValue.objects.filter(account=account)) == [10, 11]
    assert f"{VALUES}_p2026_08" not in names(VALUES)
    # The kept rows keep their breakdown, and the rewritten month its constraints.
    kept = ScoreSnapshot.objects.get(account=account, as_of=dt.date(2026, 9, 6))
    assert (kept.overall, kept.band) == (Decimal("72.50"), "Yellow")
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoreSnapshotFactory(account=account, as_of=dt.date(2026, 9, 6))

    again = retention.retention_apply(today=dt.date(2026, 12, 31), policy=policy)
    assert (again.thinned, again.dropped) == ({}, [])


def test_retention_policy_defaults_and_refuses_less_than_the_trend_windows(db):
    policy = RetentionPolicy.load()
    assert (policy.pk, policy.daily_snapshot_days, policy.value_months) == (1, 400, 25)
    policy.daily_snapshot_days = 89
    with pytest.raises(IntegrityError), transaction.atomic():
        policy.save()


# --- Reads across a month boundary ---------------------------------------------------------------

OCTOBER = dt.date(2026, 10, 25)
NOVEMBER = dt.date(2026, 11, 24)  # its 30-day anchor is October 25, in October's partition


@pytest.fixture
def scored_across_months(postgres, account):
    """Default scorecard: adoption 0.8 (80) and sentiment 4 (75) on October 25 → 78.13;
    adoption 0.6 (60) on November 24 → (50·60 + 30·75) / 80 = 65.63."""
    measure_value(account, "adoption", 0.8, 80, OCTOBER)
    measure_value(account, "csm_sentiment", 4, 75, OCTOBER)
    score_day(OCTOBER)
    measure_value(account, "adoption", 0.6, 60, NOVEMBER)
    score_day(NOVEMBER)
    return account


def test_scores_across_months_sit_in_their_partitions(scored_across_months):
    october, november = ScoreSnapshot.objects.filter(account=scored_across_months).order_by("as_of")
    assert where(SNAPSHOTS, october.pk) == f"{SNAPSHOTS}_p2026_10"
    assert where(SNAPSHOTS, november.pk) == f"{SNAPSHOTS}_p2026_11"
    assert (november.overall, november.trend_30, november.trend_7) == (
        Decimal("65.63"),
        Decimal("-12.50"),
        Decimal("-12.50"),
    )


def test_api_reads_score_history_and_changes_across_months(scored_across_months, csm):
    client = APIClient()
    client.force_authenticate(csm)
    base = f"/api/v1/accounts/{scored_across_months.pk}/score"
    score = client.get(f"{base}/").json()
    assert (score["date"], score["overall"], score["trend"]) == (
        "2026-11-24",
        65.63,
        {"7": -12.5, "30": -12.5, "90": None},
    )
    history = client.get(f"{base}/history/?from=2026-10-01&to=2026-11-30").json()
    assert [(s["date"], s["overall"]) for s in history["scores"]] == [
        ("2026-10-25", 78.13),
        ("2026-11-24", 65.63),
    ]
    changes = client.get(f"{base}/changes/?since=2026-10-25").json()
    assert (changes["from"], changes["to"], changes["change"]) == (
        "2026-10-25",
        "2026-11-24",
        -12.5,
    )


@time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC), tick=False)
def test_account_page_reads_across_months(client, csm, scored_across_months):
    client.force_login(csm)
    response = client.get(reverse("front:account-detail", kwargs={"pk": scored_across_months.pk}))
    score = response.context["score"]
    assert score.trends[1][:3] == (30, Decimal("-12.50"), "down")
    assert score.history["scores"] == [78.13, 65.63]
    windows = {w.days: w for w in score.changes}
    assert (windows[30].since, windows[30].delta) == (OCTOBER, -12.5)


def test_backfill_waves_keep_each_day_a_week_after_the_days_it_reads():
    from scorecards.models import ScoreRun
    from scorecards.services.backfill import score_run_waves

    runs = [ScoreRun(pk=n, as_of=dt.date(2026, 11, 1) + dt.timedelta(days=n)) for n in range(16)]
    waves = score_run_waves(list(reversed(runs)))
    assert [[r.as_of.day for r in wave] for wave in waves] == [
        [1, 2, 3, 4, 5, 6, 7],
        [8, 9, 10, 11, 12, 13, 14],
        [15, 16],
    ]


def test_retention_keeps_the_same_rows_on_any_database(db, account):
    """The partition rewrite (PostgreSQL) and the plain delete (SQLite) keep the same rows."""
    partitions.partitions_ensure(first=dt.date(2026, 8, 1), last=dt.date(2026, 9, 30))
    day = dt.date(2026, 8, 24)  # a Monday
    while day <= dt.date(2026, 9, 9):
        ScoreSnapshotFactory(account=account, as_of=day)
        day += dt.timedelta(days=1)
    measure = MeasureFactory()
    for as_of in (dt.date(2026, 8, 31), dt.date(2026, 9, 1)):
        MeasureValueFactory(account=account, measure=measure, as_of=as_of)
    policy = RetentionPolicy(pk=1, daily_snapshot_days=90, value_months=3)

    retention.retention_apply(today=dt.date(2026, 12, 15), policy=policy)

    # Snapshots before September 1 (90 days before Dec 15 is Sep 16: August is wholly older):
    # weeks Aug 24–30 and Aug 31 keep their last day; September stays daily.
    kept = ScoreSnapshot.objects.filter(account=account).order_by("as_of")
    assert [s.as_of.isoformat() for s in kept][:3] == ["2026-08-30", "2026-08-31", "2026-09-01"]
    assert kept.count() == 2 + 9
    # Values: three whole months before December (September to November) are kept.
    assert [v.as_of for v in MeasureValue.objects.filter(account=account)] == [dt.date(2026, 9, 1)]


def test_latest_value_bound_gives_up_on_a_partition_it_did_not_name(postgres):
    """The bound is read from the month partitions' names; a partition made by hand under
    another name could start anywhere, so no bound is used."""
    on = dt.date.today()
    assert partitions.history_lower_bound(table=VALUES, on_or_before=on) != dt.date(1, 1, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {VALUES}_by_hand PARTITION OF {VALUES} "
            "FOR VALUES FROM ('2001-01-01') TO ('2001-02-01')"
        )
    assert partitions.history_lower_bound(table=VALUES, on_or_before=on) == dt.date(1, 1, 1)
