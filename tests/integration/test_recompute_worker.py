"""The nightly recompute on a real Redis broker and real Celery worker processes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account
from scorecards.models import Measure, MeasureValue, ScoreRun, ScoreSnapshot
from scorecards.services import scoring
from scorecards.tasks import nightly_recompute, score_run_resume
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def portfolio_create(*, accounts: int, as_of: dt.date) -> None:
    """`accounts` accounts with a value of every default measure, in bulk."""
    Account.objects.bulk_create(
        Account(external_id=f"INT-{n:05d}", name=f"Integration {n}", segment="SMB")
        for n in range(accounts)
    )
    raw_by_key = {
        "csm_sentiment": 4,
        "roi": 3,
        "nps": 30,
        "support": 5,
        "sponsor_engagement": 20,
        "sponsor_coverage": 1,
    }
    values = []
    for measure in Measure.objects.all():
        raw = raw_by_key.get(measure.key, 0.6)
        for account_id in Account.objects.values_list("pk", flat=True):
            values.append(
                MeasureValue(
                    account_id=account_id,
                    measure=measure,
                    raw_value=raw,
                    score=50,
                    as_of=as_of,
                    source="api",
                )
            )
    MeasureValue.objects.bulk_create(values, batch_size=5000)


def snapshot_state(as_of: dt.date) -> list[tuple]:
    return list(
        ScoreSnapshot.objects.filter(as_of=as_of)
        .order_by("account_id")
        .values_list("account_id", "overall", "band", "coverage", "measures")
    )


def test_nightly_run_scores_every_account_once_and_again_changes_nothing(celery_worker_process):
    today = timezone.localdate()
    portfolio_create(accounts=120, as_of=today)
    celery_worker_process.start()

    nightly_recompute.delay()
    wait_until(
        lambda: ScoreRun.objects.filter(status="finished").count() == 1,
        seconds=90,
        message="the nightly run did not finish",
    )
    first = snapshot_state(today)
    assert len(first) == 120
    assert ScoreSnapshot.objects.count() == 120

    nightly_recompute.delay()
    wait_until(
        lambda: ScoreRun.objects.filter(status="finished").count() == 2,
        seconds=90,
        message="the second nightly run did not finish",
    )
    assert snapshot_state(today) == first
    assert ScoreSnapshot.objects.count() == 120


def test_worker_killed_mid_run_loses_no_chunk_once_resumed(celery_worker_process):
    today = timezone.localdate()
    portfolio_create(accounts=600, as_of=today)
    worker = celery_worker_process.start()

    run = scoring.score_run_start(as_of=today, chunk_size=25)  # 24 chunks
    wait_until(
        lambda: ScoreRun.objects.get(pk=run.pk).chunks_done >= 3,
        seconds=90,
        message="the run did not get going",
    )
    celery_worker_process.kill(worker)
    run.refresh_from_db()
    assert run.status == ScoreRun.Status.RUNNING
    assert run.chunks_done < run.chunks_total  # killed mid-run, not after

    celery_worker_process.start()
    score_run_resume.delay(run.pk)
    wait_until(
        lambda: ScoreRun.objects.get(pk=run.pk).status == ScoreRun.Status.FINISHED,
        seconds=120,
        message="the resumed run did not finish",
    )
    run.refresh_from_db()
    assert run.chunks.exclude(status="done").count() == 0
    assert (run.accounts_scored, run.chunks_done) == (600, 24)
    assert ScoreSnapshot.objects.filter(as_of=today).count() == 600


def test_recompute_scores_backfill_runs_on_the_workers_in_trend_order(celery_worker_process):
    """10 days of 120 accounts in chunks on two worker processes: every day finishes, and
    every day's 7-day trend compares with the day a week before it, scored or rescored."""
    import io

    from django.core.management import call_command

    last = dt.date(2026, 11, 20)
    portfolio_create(accounts=120, as_of=last - dt.timedelta(days=30))
    celery_worker_process.start()
    out, err = io.StringIO(), io.StringIO()

    call_command("recompute_scores", "--date", "2026-11-20", "--days", "10", stdout=out, stderr=err)

    runs = list(ScoreRun.objects.order_by("as_of"))
    assert [(r.as_of.day, r.status, r.accounts_scored) for r in runs] == [
        (day, "finished", 120) for day in range(11, 21)
    ]
    assert out.getvalue().startswith("Scored 10 day(s) in ")
    assert "1200/1200" in err.getvalue()  # the progress bar reached the end
    trends = dict(
        ScoreSnapshot.objects.filter(account__external_id="INT-00000").values_list(
            "as_of__day", "trend_7"
        )
    )
    # Same values every day: a flat trend every day. The first seven days' earlier days were
    # not scored by this backfill; rule 13 rescores them from the value history.
    assert [trends[day] for day in range(11, 21)] == [Decimal("0.00")] * 10
