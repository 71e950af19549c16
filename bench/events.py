"""Outbound events benchmark: a night in which every account changes band, sent to three
endpoints (standard, Slack, Teams) on a local receiver that answers in 50 ms.

    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/events.py [--accounts 10000]

Builds a throwaway PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench_events): N accounts on a three-measure
scorecard, all Green on day 1; day 2's values move every one of them to Red. Then:
  (a) the run's cost of its events: day 2's run (in this process, like `recompute_scores`)
      with its events switched off and on, alternately, each from the same day-1 state; with
      them on, the run stages its band moves and the events are recorded after it, timed
      apart (no worker runs meanwhile; the fan-out messages wait in Redis);
  (b) delivery: one real Celery worker (prefork, concurrency 2) on Redis, a receiver on
      127.0.0.1 answering every request after 50 ms, the three endpoints; day 2 runs once more
      and the clock runs from the end of the run (the worker records its events, then fans
      them out) until every delivery is delivered (N to the
      standard endpoint, plus its score_run.finished, plus one digest each to Slack and
      Teams, which wait WEBHOOK_DIGEST_DELAY_SECONDS for the run's risk evaluation).
Prints the machine, load average, data size and the figures. Only loopback is used.
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    database_recreate,
    free_port,
    load_average_line,
    machine_line,
    manage,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/healthscore_bench_events"
DAY_1 = date.today() - timedelta(days=1)
DAY_2 = date.today()
RECEIVER_DELAY = 0.05
MOVES: list[int] = []  # band moves each run with events recorded


# --- The receiver (its own process: its threads do not share this process's GIL) ------------


def _receiver_main(port: int, counter) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            time.sleep(RECEIVER_DELAY)
            with counter.get_lock():
                counter.value += 1
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    server.serve_forever()


# --- Data ------------------------------------------------------------------------------------


def env_for(url: str, queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HEALTHSCORE_ENV"}
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="healthscore.settings",
        DEBUG="false",
        CELERY_QUEUE=queue,
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        # Risks are not evaluated here: the digest need not wait for them.
        WEBHOOK_DIGEST_DELAY_SECONDS=os.environ.get("WEBHOOK_DIGEST_DELAY_SECONDS", "5"),
    )
    return env


def portfolio_build(accounts: int) -> dict:
    from accounts.models import Account
    from risk.models import RiskRule
    from scorecards.models import (
        Band,
        Measure,
        MeasureGroup,
        MeasureValue,
        Scorecard,
        ScorecardMeasure,
    )
    from scorecards.services import scoring

    RiskRule.objects.update(is_enabled=False)
    card = Scorecard.objects.create(name="Bench", priority=1, segments=["Bench"])
    for label, low in (("Red", 0), ("Yellow", 50), ("Green", 75)):
        Band.objects.create(scorecard=card, label=label, min_score=Decimal(low))
    outcomes = MeasureGroup.objects.create(scorecard=card, name="Outcomes", weight=60, position=0)
    experience = MeasureGroup.objects.create(
        scorecard=card, name="Experience", weight=40, position=1
    )
    measures = {}
    for key, group, weight in (("b1", outcomes, 30), ("b2", outcomes, 10), ("b3", experience, 1)):
        measure = Measure.objects.create(
            key=key, name=key.upper(), kind="automated", mapping_type="direct"
        )
        ScorecardMeasure.objects.create(scorecard=card, group=group, measure=measure, weight=weight)
        measures[key] = measure
    rows = Account.objects.bulk_create(
        (
            Account(external_id=f"EV-{n:06d}", name=f"Account {n:06d}", segment="Bench")
            for n in range(accounts)
        ),
        batch_size=5000,
    )

    def values(day, raw):
        MeasureValue.objects.bulk_create(
            (
                MeasureValue(
                    account=account,
                    measure=measures[key],
                    raw_value=value,
                    score=value,
                    as_of=day,
                    source="api",
                )
                for account in rows
                for key, value in raw.items()
            ),
            batch_size=5000,
        )

    values(DAY_1, {"b1": 80, "b2": 40, "b3": 90})  # 78.00, Green
    values(DAY_2, {"b1": 20, "b3": 30})  # 27.00, Red
    started = time.monotonic()
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY_1))
    return {"day_1_seconds": time.monotonic() - started, "value_rows": MeasureValue.objects.count()}


def day_1_restore() -> None:
    """Back to the state after day 1: day-1 scores current, no day-2 snapshot, no event."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_delivery")
        cursor.execute("DELETE FROM events_event")
        cursor.execute("DELETE FROM scorecards_scorerunbandmove")
        # No earlier run waits for its events (a worker must not record them later).
        cursor.execute(
            "UPDATE scorecards_scorerun SET events_recorded_at = now() "
            "WHERE events_recorded_at IS NULL"
        )
        cursor.execute(
            "UPDATE scorecards_currentscore c SET snapshot_id = s.id, as_of = s.as_of, "
            "overall = s.overall, band = s.band FROM scorecards_scoresnapshot s "
            "WHERE s.account_id = c.account_id AND s.as_of = %s",
            [DAY_1],
        )
        cursor.execute("DELETE FROM scorecards_scoresnapshot WHERE as_of = %s", [DAY_2])
        cursor.execute("VACUUM ANALYZE")


def day_2_run(*, record_events: bool, deferred: bool = True) -> tuple[float, float, float]:
    """Day 2's run. Returns its seconds, the seconds it spent staging its band moves, and
    the seconds recording their events took after it (in this process, timed apart, as the
    worker task would; 0 when `deferred`, which leaves them to a worker)."""
    from scorecards.models import ScoreRun
    from scorecards.services import score_events, scoring

    spent = [0.0]
    stage, record_soon = scoring.score_run_band_moves_stage, scoring.score_run_events_record_soon

    def timed_stage(*, run):
        started = time.monotonic()
        moved = stage(run=run) if record_events else 0
        spent[0] += time.monotonic() - started
        if record_events:
            MOVES.append(moved)
        return moved

    scoring.score_run_band_moves_stage = timed_stage
    if not deferred or not record_events:
        scoring.score_run_events_record_soon = lambda *, run: None
    try:
        started = time.monotonic()
        run = scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY_2))
        run_seconds = time.monotonic() - started
    finally:
        scoring.score_run_band_moves_stage = stage
        scoring.score_run_events_record_soon = record_soon
    recording = 0.0
    if record_events and not deferred:
        started = time.monotonic()
        score_events.score_run_events_record(run=ScoreRun(pk=run.pk))
        recording = time.monotonic() - started
    return run_seconds, spent[0], recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    options = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL: the deliveries run on a real Celery worker.")
    queue = f"healthscore-bench-events-{uuid.uuid4().hex[:8]}"
    print(machine_line(url))
    print(load_average_line(), "(start)")

    database_recreate(url)
    manage(url, "migrate", "--verbosity", "0")
    env = env_for(url, queue)
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    import redis
    from django.conf import settings

    from events import services
    from events.models import Delivery

    built = portfolio_build(options.accounts)
    print(
        f"data: {options.accounts:,} accounts × 3 measures × 2 days = "
        f"{built['value_rows']:,} value rows; day 1 scored in {built['day_1_seconds']:.1f} s"
    )

    # (a) The run with and without its events, alternately: staged in the run, recorded
    # after it (timed apart).
    without, with_events, staging, recording = [], [], [], []
    for _ in range(options.repeats):
        for record_events in (False, True):
            day_1_restore()
            seconds, staged, recorded = day_2_run(record_events=record_events, deferred=False)
            (with_events if record_events else without).append(seconds)
            if record_events:
                staging.append(staged)
                recording.append(recorded)
    redis.Redis.from_url(settings.REDIS_URL).delete(queue)
    best_without, best_with = min(without), min(with_events)
    if not MOVES or min(MOVES) != options.accounts:
        raise SystemExit(f"Expected {options.accounts} band moves per run, got {MOVES}.")
    print(
        f"day-2 run, {options.accounts:,} band moves: without events "
        f"{', '.join(f'{s:.2f}' for s in without)} s; with events "
        f"{', '.join(f'{s:.2f}' for s in with_events)} s, of which staging the band moves "
        f"{', '.join(f'{s:.3f}' for s in staging)} s; recording the events after the run "
        f"{', '.join(f'{s:.2f}' for s in recording)} s"
    )
    median_without, median_with = statistics.median(without), statistics.median(with_events)
    print(
        f"slowdown (best of each): {100 * (best_with - best_without) / best_without:+.1f} %; "
        f"(median of each): {100 * (median_with - median_without) / median_without:+.1f} % "
        f"(staging alone: {100 * min(staging) / best_without:.1f} % of the run; target 5 %)"
    )

    # (b) Delivery on a real worker to a receiver answering in 50 ms.
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    port = free_port()
    receiver = multiprocessing.get_context("spawn").Process(
        target=_receiver_main, args=(port, counter), daemon=True
    )
    receiver.start()
    day_1_restore()
    for name in ("standard", "slack", "teams"):
        services.webhook_endpoint_create(url=f"http://127.0.0.1:{port}/{name}", format=name)
    log = open(Path(tempfile.gettempdir()) / "healthscore-bench-events-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "healthscore", "worker", "--pool=prefork",
         "--concurrency=2", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
         f"--queues={queue}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(8)  # the worker starts
        run_seconds, _, _ = day_2_run(record_events=True)  # a worker records the events
        finished = time.monotonic()
        expected = options.accounts + 3
        delivered = 0
        while time.monotonic() - finished < 600:
            delivered = Delivery.objects.filter(status="delivered").count()
            if delivered >= expected:
                break
            time.sleep(0.5)
        took = time.monotonic() - finished
        print(
            f"delivery: {delivered:,} of {expected:,} deliveries delivered "
            f"{took:.1f} s after the run finished (run {run_seconds:.1f} s; target 120 s); "
            f"receiver got {counter.value:,} requests; digest delay "
            f"{settings.WEBHOOK_DIGEST_DELAY_SECONDS:g} s, "
            f"{settings.WEBHOOK_ENDPOINT_CONCURRENCY} requests in flight per endpoint"
        )
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        receiver.terminate()
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)
    print(load_average_line(), "(end)")


if __name__ == "__main__":
    main()
