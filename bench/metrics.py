"""Usage metrics benchmark: the nightly derivation of 5 derived measures plus the scoring of that
date, against its I/O floor; ingestion through the API; the index the window read uses.

    .venv/bin/python bench/metrics.py [--accounts 100000] [--metrics 10] [--days 90]
                                      [--ingest-rows 1000000] [--ingest-clients 1,2] [--workers 2]

Builds a throwaway PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench_metrics) with N accounts × M metrics × D days
of metric values (partitioned by month), makes five of the default scorecard's measures derived
(deployment, engagement, adoption per licensed seat over 28 days, support from tickets summed
over 28 days, a new logins_change: the change of logins over 7 days), then times in one run:
  (a) ours: the recompute of the last day end to end (derivation, computed values written,
      scoring, snapshots), with 1 and with `--workers` processes, in the steady state of a
      nightly run (the day before and the 7/30/90-day anchors hold snapshots; a new database's
      first night, which has to rescore them, is run and reported first);
  (b) the floor: COPY out of exactly the metric rows the derivation reads, plus COPY in of the
      derived values (accounts × 5 measure values);
  (c) ingestion: `--ingest-rows` metric values through POST /api/v1/metric-values/ (in-process
      DRF clients, 10,000-row requests, every body encoded before the clock starts), from 1
      and from 2 clients at once (`--ingest-clients`), each in its own process: what a day
      brings, every account's metrics for the next day;
  (d) the window read with the covering (account, metric, date) INCLUDE (value) index against a
      BRIN index on date.
`--parts` picks some of them (derive: (a) and (b); ingest; index).
Prints seconds, rows per second, peak memory and the ratio ours/floor.
"""

import argparse
import io
import json
import multiprocessing
import os
import platform
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.recompute import (  # noqa: E402
    AS_OF,
    _Sink,
    anchors_copy,
    django_setup,
    in_child,
    peak_rss_mb,
)
from bench.recompute import run_ours as recompute_run  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/healthscore_bench_metrics"
METRICS = [
    "active_users",
    "licensed_seats",
    "logins",
    "reports_run",
    "tickets_opened",
    "api_calls",
    "dashboards_viewed",
    "exports",
    "integrations_active",
    "alerts_sent",
]
SOURCE_METRICS = ("active_users", "licensed_seats", "logins", "reports_run", "tickets_opened")
PER_SEAT = {"metric": "licensed_seats", "aggregate": "last", "window_days": 1}
SOURCES = {
    "deployment": {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "per": PER_SEAT,
    },
    "engagement": {"metric": "logins", "aggregate": "avg", "window_days": 28, "per": PER_SEAT},
    "adoption": {"metric": "reports_run", "aggregate": "avg", "window_days": 28, "per": PER_SEAT},
    "support": {"metric": "tickets_opened", "aggregate": "sum", "window_days": 28},
    "logins_change": {"metric": "logins", "aggregate": "sum", "window_days": 7, "change": True},
}


def _build_child(url: str, accounts: int, metrics: int, days: int, queue) -> None:
    import psycopg2

    admin_url, name = url.rsplit("/", 1)
    conn = psycopg2.connect(f"{admin_url}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    conn.close()
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    from metrics.models import Metric
    from metrics.services import metric_value_partitions_ensure
    from scorecards.models import Measure, MeasureGroup, Scorecard, ScorecardMeasure
    from scorecards.validation import measure_source_normalize

    call_command("migrate", verbosity=0)
    for key in METRICS:  # all declared; the first `metrics` get values
        Metric.objects.create(key=key, name=key.replace("_", " ").capitalize())
    scorecard = Scorecard.objects.get(is_default=True)
    change = Measure.objects.create(
        key="logins_change", name="Logins change", kind="automated", mapping_type="linear",
        lo=-0.5, hi=0.5, max_age_days=7,
    )  # fmt: skip
    ScorecardMeasure.objects.create(
        scorecard=scorecard,
        group=MeasureGroup.objects.get(scorecard=scorecard, name="Outcomes"),
        measure=change,
        weight=10,
        position=9,
    )
    for key, source in SOURCES.items():
        Measure.objects.filter(key=key).update(source=measure_source_normalize(source))
    first = AS_OF - timedelta(days=days - 1)
    metric_value_partitions_ensure(
        months=[first + timedelta(days=n) for n in range(0, days + 31, 28)]
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_account (external_id, name, segment, tier, region, industry, "
            "lifecycle, arr, status, created_at, updated_at) "
            "SELECT 'B-' || n, 'Bench ' || n, (ARRAY['Enterprise','Mid-Market','SMB'])[1 + n %% 3],"
            " 'Gold', 'EMEA', 'Software', 'mature', 10000 + n %% 90000, 'active', now(), now() "
            "FROM generate_series(1, %s) AS n",
            [accounts],
        )
        # Loaded as a dump is restored: the unique index built once afterwards.
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "ALTER TABLE metrics_metricvalue DROP CONSTRAINT metrics_metricvalue_one_per_day"
        )
        cursor.execute(
            "INSERT INTO metrics_metricvalue (account_id, metric_id, date, value) "
            "SELECT a.id, m.id, d::date, CASE m.key WHEN 'licensed_seats' THEN 50 "
            "  WHEN 'tickets_opened' THEN floor(random() * 2) ELSE floor(random() * 50) END "
            "FROM accounts_account a CROSS JOIN metrics_metric m "
            "CROSS JOIN generate_series(%s::date, %s::date, '1 day') AS d "
            "WHERE m.key = ANY(%s)",
            [first, AS_OF, METRICS[:metrics]],
        )
        cursor.execute(
            "ALTER TABLE metrics_metricvalue ADD CONSTRAINT metrics_metricvalue_one_per_day "
            "UNIQUE (account_id, metric_id, date) INCLUDE (value)"
        )
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM metrics_metricvalue")
        (rows,) = cursor.fetchone()
    queue.put({"value_rows": rows, "build_seconds": time.monotonic() - started})


def _count_child(url: str, queue) -> None:
    django_setup(url)
    from django.db import connection

    from metrics.models import MetricValue

    # The planner's count, not count(*): reading 90 million rows to count them pushed the
    # measure values' indexes out of the page cache, and the first timed run read them back.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(c.reltuples)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [MetricValue._meta.db_table],
        )
        (rows,) = cursor.fetchone()
    queue.put({"value_rows": rows, "build_seconds": 0.0})


def _anchors_child(url: str, queue) -> None:
    """Whether the day before the run holds snapshots (the steady state of a nightly run)."""
    django_setup(url)
    from scorecards.models import ScoreSnapshot

    queue.put(ScoreSnapshot.objects.filter(as_of=AS_OF - timedelta(days=1)).exists())


def run_ours(url: str, workers: int, queue) -> None:
    """A fresh night: no computed value of the date yet, then bench/recompute.py's run."""
    django_setup(url)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scorecards_measurevalue WHERE source = 'computed'")
        cursor.execute("VACUUM scorecards_measurevalue")
    connection.close()
    recompute_run(url, workers, "nightly", queue)


def run_floor(url: str, queue) -> None:
    django_setup(url)
    from django.db import connection

    from scorecards import engine
    from scorecards.services.derived import derived_sources_frame

    sources, _ = derived_sources_frame()
    first = engine.derivation_first_date(sources, as_of=AS_OF)
    keys = sorted(set(sources["metric"]) | set(sources["per_metric"].dropna()))
    with connection.cursor() as cursor:
        sink = _Sink()
        started = time.monotonic()
        cursor.copy_expert(
            "COPY (SELECT v.account_id, v.metric_id, v.date, v.value FROM metrics_metricvalue v "
            "JOIN metrics_metric m ON m.id = v.metric_id "
            f"WHERE m.key IN ({', '.join(repr(k) for k in keys)}) "
            f"AND v.date >= '{first}' AND v.date <= '{AS_OF}') TO STDOUT WITH (FORMAT csv)",
            sink,
        )
        copy_out = time.monotonic() - started
        cursor.execute("SELECT count(*) FROM accounts_account")
        (accounts,) = cursor.fetchone()
        rows = io.StringIO()
        for account in range(1, accounts + 1):
            for measure in range(1, 6):
                rows.write(f"{account},{measure},0.5,50,{AS_OF},computed,inputs,now()\n")
        rows.seek(0)
        cursor.execute(
            "CREATE TEMP TABLE floor_values AS SELECT account_id, measure_id, raw_value, score, "
            "as_of, source, comment, created_at FROM scorecards_measurevalue WITH NO DATA"
        )
        rows_text = rows.getvalue().replace("now()", "2026-11-20 02:00:00+00")
        started = time.monotonic()
        cursor.copy_expert("COPY floor_values FROM STDIN WITH (FORMAT csv)", io.StringIO(rows_text))
        copy_in = time.monotonic() - started
    queue.put(
        {
            "copy_out": copy_out,
            "bytes_out": sink.bytes,
            "copy_in": copy_in,
            "peak_mb": peak_rss_mb(),
        }
    )


def run_ingest(url: str, rows: int, clients: int, queue) -> None:
    """`rows` new metric values through the API, 10,000 a request, from `clients` processes
    at once (each a DRF client in its own process, as each would be served by its own
    gunicorn worker), every process sending its share of the requests. Each body is encoded
    before the clock starts; the clock runs from the first request sent to the last answered."""
    django_setup(url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.models import Account
    from metrics.models import Metric

    user, _ = get_user_model().objects.get_or_create(username="bench-integration")
    user.groups.add(Group.objects.get(name="Integration"))
    ids = list(Account.objects.order_by("pk").values_list("external_id", flat=True))
    # What a day brings: every account's metrics for the day after the derivation's date (a
    # day it does not read), 1,000 accounts × 10 metrics a request; then the day after, if
    # `rows` asks for more. (Until 1 December: two metrics of the bench's own over five days,
    # the same accounts each day, which wrote each account's index page five times.)
    keys = list(Metric.objects.filter(key__in=METRICS).order_by("pk").values_list("key", flat=True))
    # A reused database holds the last run's ingest: forgotten, so that every row is new again,
    # and vacuumed away as autovacuum would have long before (else every insert would step
    # over the dead row of its own key in the unique index).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM metrics_metricvalue WHERE date > %s "
            "OR metric_id IN (SELECT id FROM metrics_metric WHERE key IN %s) "
            "RETURNING tableoid::regclass::text",
            [AS_OF, ("ingest_a", "ingest_b")],
        )
        for (partition,) in sorted(set(cursor.fetchall())):
            cursor.execute(f"VACUUM {partition}")
    per_request = max(1, 10_000 // len(keys))
    bodies: list[str] = []
    position, day, sent, encoding = 0, AS_OF + timedelta(days=1), 0, 0.0
    while sent < rows:
        part = ids[position : position + per_request]
        batch = [
            {"account": external_id, "metric": metric, "date": str(day), "value": number % 50}
            for number, external_id in enumerate(part)
            for metric in keys
        ]
        started = time.monotonic()
        bodies.append(json.dumps(batch))
        encoding += time.monotonic() - started
        sent += len(batch)
        position += per_request
        if position >= len(ids):
            position, day = 0, day + timedelta(days=1)
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(clients), context.Queue()
    senders = [
        context.Process(
            target=_ingest_client, args=(url, user.pk, bodies[number::clients], ready, results)
        )
        for number in range(clients)
    ]
    for sender in senders:
        sender.start()
    timings = [results.get() for _ in senders]
    for sender in senders:
        sender.join()
    seconds = max(t["finished"] for t in timings) - min(t["started"] for t in timings)
    queue.put(
        {
            "rows": sent,
            "requests": len(bodies),
            "clients": clients,
            "seconds": seconds,
            "encoding": encoding,
            "peak_mb": max(t["peak_mb"] for t in timings),
        }
    )


def _ingest_client(url: str, user_id: int, bodies: list[str], ready, results) -> None:
    django_setup(url)
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(get_user_model().objects.get(pk=user_id))
    ready.wait()
    started = time.monotonic()  # system-wide on Linux: comparable across the processes
    for body in bodies:
        response = client.post("/api/v1/metric-values/", body, content_type="application/json")
        assert response.status_code == 201, response.content[:500]
    results.put({"started": started, "finished": time.monotonic(), "peak_mb": peak_rss_mb()})


def run_index(url: str, queue) -> None:
    """The derivation's window read of one 10,000-account chunk: covering btree vs BRIN."""
    django_setup(url)
    from django.db import connection

    from metrics.selectors import WINDOW_ROWS

    first = AS_OF - timedelta(days=55)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(id) FROM metrics_metric WHERE key = ANY(%s)", [list(SOURCE_METRICS)]
        )
        (metric_ids,) = cursor.fetchone()
        params = [1, 10_000, metric_ids, first, AS_OF]

        def timed() -> float:
            best = float("inf")
            for _ in range(3):
                sink = _Sink()
                started = time.monotonic()
                query = cursor.mogrify(WINDOW_ROWS, params).decode()
                cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", sink)
                best = min(best, time.monotonic() - started)
            return best

        btree = timed()
        cursor.execute(
            "CREATE INDEX bench_metricvalue_brin ON metrics_metricvalue USING brin (date)"
        )
        cursor.execute("ANALYZE metrics_metricvalue")
        cursor.execute("SET enable_indexonlyscan = off")
        cursor.execute("SET enable_indexscan = off")
        brin = timed()
        cursor.execute("RESET enable_indexonlyscan")
        cursor.execute("RESET enable_indexscan")
        cursor.execute("DROP INDEX bench_metricvalue_brin")
    queue.put({"btree": btree, "brin": brin})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--ingest-clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="concurrent API clients of the ingest, comma-separated (each level timed)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--parts",
        type=lambda text: set(text.split(",")),
        default={"derive", "ingest", "index"},
        help="what to time, comma-separated: derive (with its floor), ingest, index",
    )
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument(
        "--skip-build", action="store_true", help="reuse the database of the last run"
    )
    args = parser.parse_args()
    multiprocessing.set_start_method("spawn")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}"
    )
    if args.skip_build:
        built = in_child(_count_child, args.url)
    else:
        built = in_child(_build_child, args.url, args.accounts, args.metrics, args.days)
    print(
        f"data: {args.accounts:,} accounts × {args.metrics} metrics × {args.days} days = "
        f"{built['value_rows']:,} metric rows"
        + ("" if args.skip_build else f" (built in {built['build_seconds']:.0f} s)")
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if "derive" in args.parts:
        derive(args)
    if "index" in args.parts:
        index = in_child(run_index, args.url)
        print(
            f"(d) window read of 10,000 accounts: covering btree {index['btree']:.2f} s, "
            f"BRIN on date {index['brin']:.2f} s",
            flush=True,
        )
    for clients in args.ingest_clients if "ingest" in args.parts else ():
        ingest = in_child(run_ingest, args.url, args.ingest_rows, clients)
        print(
            f"(c) ingest, {ingest['clients']} client(s) at once: {ingest['rows']:,} rows in "
            f"{ingest['requests']} requests, {ingest['seconds']:.2f} s = "
            f"{ingest['rows'] / ingest['seconds']:,.0f} rows/s, peak {ingest['peak_mb']:.0f} MB "
            f"per process (the client's JSON encoding apart: {ingest['encoding']:.2f} s)",
            flush=True,
        )


def derive(args) -> None:
    """(a) and (b): ours with 1 and with `args.workers` processes, then the floor."""
    if not in_child(_anchors_child, args.url):
        # A database's first night has no earlier snapshots: each chunk rescores the day
        # before and the 7/30/90-day anchors from the value history (rule 13). Every later
        # night finds them, as bench/recompute.py's steady state does; that is what is timed.
        first_night = in_child(run_ours, args.url, args.workers)
        print(
            f"    a first night (no earlier snapshots: the anchors rescored), {args.workers} "
            f"workers: {first_night['seconds']:.2f} s",
            flush=True,
        )
        in_child(anchors_copy, args.url)
    ours = in_child(run_ours, args.url, 1)
    print(
        f"(a) ours, 1 worker:   {ours['seconds']:7.2f} s  peak {ours['peak_mb']:.0f} MB  "
        f"({ours['scored']:,} scored, {ours['snapshots']:,} snapshots)",
        flush=True,
    )
    ours_parallel = in_child(run_ours, args.url, args.workers)
    print(
        f"    ours, {args.workers} workers:  {ours_parallel['seconds']:7.2f} s  "
        f"peak {ours_parallel['peak_mb']:.0f} MB per process",
        flush=True,
    )
    floor = in_child(run_floor, args.url)
    floor_seconds = floor["copy_out"] + floor["copy_in"]
    print(
        f"(b) floor:            {floor_seconds:7.2f} s  (COPY out {floor['copy_out']:.2f} s, "
        f"{floor['bytes_out'] / 2**20:.0f} MB; COPY in {floor['copy_in']:.2f} s)"
    )
    print(
        f"    ours/floor: {ours['seconds'] / floor_seconds:.2f}× (1 worker), "
        f"{ours_parallel['seconds'] / floor_seconds:.2f}× ({args.workers} workers)",
        flush=True,
    )


if __name__ == "__main__":
    main()
