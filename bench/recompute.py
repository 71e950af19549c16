"""Recompute benchmark: ours against the I/O floor and a naive per-account ORM loop.

    .venv/bin/python bench/recompute.py [--accounts 100000] [--days 30] [--naive-sample 1000]
        [--workers N] [--skip-build] [--skip-like-for-like] [--compare-unpartitioned]

Builds a throwaway PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench), fills it with N accounts × 10 measures ×
`days` days of values, then times in one run:
  (a) ours: a full recompute of the last day, end to end (chunks scored and written, run
      finished), in this process;
  (b) the I/O floor: COPY of the measure values the day needs out of PostgreSQL, plus COPY of
      the same number of snapshot rows in;
  (c) naive: a per-account ORM loop (a query per measure, Python maths, update_or_create) on a
      sample, scaled to N;
  (d) like for like (scoring rule 13): the same nightly run in the steady state (the days
      before, the 7/30/90-day anchors, were scored with today's scorecard version) against
      the same run with the trend reads of before rule 13 (nearest snapshot, no version
      check), and "after a publish": the scorecard's version bumped, so that today is scored
      and each anchor day is rescored from the value history under the new version.
Prints seconds, rows per second, peak memory (max RSS of the process that ran each part) and
the ratios ours/floor and naive/ours, then the bytes per account-day of snapshots and values.
With `--compare-unpartitioned`, the history tables are then turned back into plain tables
(migration 0011 reversed) and (a) timed again, so both layouts are measured in one run.
"""

import argparse
import io
import multiprocessing
import os
import platform
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AS_OF = date(2026, 11, 20)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/healthscore_bench"


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthscore.settings")
    import django

    django.setup()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Data ----------------------------------------------------------------------------------------


def build_database(url: str, accounts: int, days: int) -> dict:
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
    from django.db import connection, transaction

    from demo.services.bulk import indexes_rebuilt_after
    from scorecards.models import Measure, MeasureGroup, MeasureValue, Scorecard, ScorecardMeasure

    call_command("migrate", verbosity=0)
    from scorecards.services import partitions

    # Every month of the data has its partition (as the nightly maintenance keeps it).
    partitions.partitions_ensure(first=AS_OF - timedelta(days=days - 1), last=AS_OF)
    # The default scorecard has nine measures; a tenth (CSAT) makes the benchmark's ten.
    scorecard = Scorecard.objects.get(is_default=True)
    csat = Measure.objects.create(
        key="csat",
        name="CSAT",
        kind="automated",
        mapping_type="linear",
        lo=1,
        hi=5,
        max_age_days=60,
    )
    ScorecardMeasure.objects.create(
        scorecard=scorecard,
        group=MeasureGroup.objects.get(scorecard=scorecard, name="Experience"),
        measure=csat,
        weight=20,
        position=9,
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
        # Bulk load the way one restores a dump (as seed_demo does): without the indexes and
        # constraints, then each built once (a sort) instead of maintained row by row.
        with transaction.atomic(), indexes_rebuilt_after(MeasureValue):
            # Raw values in each measure's natural units.
            cursor.execute(
                "INSERT INTO scorecards_measurevalue (account_id, measure_id, raw_value, score, "
                "as_of, source, comment, created_at) "
                "SELECT a.id, m.id, CASE m.key "
                "  WHEN 'csm_sentiment' THEN 1 + floor(random() * 5) "
                "  WHEN 'roi' THEN 1 + floor(random() * 5) "
                "  WHEN 'csat' THEN 1 + random() * 4 "
                "  WHEN 'nps' THEN random() * 200 - 100 "
                "  WHEN 'support' THEN floor(random() * 25) "
                "  WHEN 'sponsor_engagement' THEN floor(random() * 120) "
                "  WHEN 'sponsor_coverage' THEN (random() > 0.2)::int "
                "  ELSE random() END, 0, d::date, 'api', '', now() "
                "FROM accounts_account a CROSS JOIN scorecards_measure m "
                "CROSS JOIN generate_series(%s::date - (%s - 1), %s::date, '1 day') AS d",
                [AS_OF, days, AS_OF],
            )
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM scorecards_measurevalue")
        (value_rows,) = cursor.fetchone()
    return {"value_rows": value_rows, "build_seconds": time.monotonic() - started}


# --- (a) ours ------------------------------------------------------------------------------------


def run_ours(url: str, workers: int, mode: str, queue: multiprocessing.Queue) -> None:
    """Create the run, score its chunks on `workers` processes (what as many Celery worker
    processes do with the chunk tasks), then finish it. `mode`: "nightly" (as shipped),
    "before" (the trend reads of before rule 13, for comparison), "publish" (the scorecard's
    version bumped first: every anchor day is rescored)."""
    django_setup(url)
    from django.db import connection

    from scorecards.models import ScoreSnapshot
    from scorecards.services import scoring

    with connection.cursor() as cursor:  # a fresh night: nothing to replace
        cursor.execute("DELETE FROM scorecards_currentscore")
        cursor.execute("DELETE FROM scorecards_scoresnapshot WHERE as_of = %s", [AS_OF])
        if mode == "publish":
            cursor.execute("UPDATE scorecards_scorecard SET version = version + 1")
        # The deleted rows vacuumed away too, as autovacuum would have long before a night.
        cursor.execute("VACUUM scorecards_scoresnapshot, scorecards_currentscore")
    started = time.monotonic()
    run = scoring.score_run_create(as_of=AS_OF)
    scoring.score_run_claim(run=run)
    chunk_ids = scoring.score_run_unfinished_chunk_ids(run=run)
    connection.close()  # the pool's processes open their own
    with multiprocessing.Pool(workers, initializer=_init_worker, initargs=(url, mode)) as pool:
        peaks = pool.map(_score_chunk, chunk_ids, chunksize=1)
    finishing = time.monotonic()
    run = scoring.score_run_finish(run=run)
    seconds = time.monotonic() - started
    finish_seconds = time.monotonic() - finishing
    if mode == "publish":
        with connection.cursor() as cursor:
            cursor.execute("UPDATE scorecards_scorecard SET version = version - 1")
    queue.put(
        {
            "seconds": seconds,
            "finish_seconds": finish_seconds,
            "scored": run.accounts_scored,
            "not_scored": run.accounts_not_scored,
            "snapshots": ScoreSnapshot.objects.filter(as_of=AS_OF).count(),
            "peak_mb": max([peak_rss_mb(), *peaks]),
        }
    )


def _init_worker(url: str, mode: str) -> None:
    django_setup(url)
    if mode == "before":
        from scorecards.services import scoring

        scoring.earlier_scores_for_trends = _earlier_nearest


def _earlier_nearest(*, result, frames, as_of, first_id, last_id, windows=(1, 7, 30, 90)):
    """The trend reads of before rule 13, kept for comparison: each account's latest
    snapshot on or before as_of − N, whatever its version (one DISTINCT ON query per window)."""
    import pandas as pd

    from scorecards import comparisons, engine
    from scorecards.models import ScoreSnapshot

    frames_out = []
    for days in windows:
        rows = (
            ScoreSnapshot.objects.filter(
                account_id__gte=first_id,
                account_id__lte=last_id,
                as_of__lte=as_of - timedelta(days=days),
            )
            .order_by("account_id", "-as_of")
            .values_list("account_id", "as_of", "overall", "band")
            .distinct("account_id")
        )
        frames_out.append(
            pd.DataFrame(
                list(rows), columns=[engine.ACCOUNT_ID, engine.AS_OF, engine.OVERALL, engine.BAND]
            )
        )
    history = pd.concat(frames_out, ignore_index=True)
    history[engine.AS_OF] = pd.to_datetime(history[engine.AS_OF])
    history[engine.OVERALL] = history[engine.OVERALL].astype(float)
    history[comparisons.IS_RESCORED] = False  # nothing rescored, nothing kept
    history[comparisons.LINES] = None
    return history


def anchors_copy(url: str, queue: multiprocessing.Queue) -> None:
    """The steady state of a nightly run: the day before and the 7/30/90-day anchors hold
    snapshots of today's scorecard version (copies of today's, made once)."""
    django_setup(url)
    from django.db import connection

    from scorecards.services.scoring import SNAPSHOT_COLUMNS

    columns = ", ".join(SNAPSHOT_COLUMNS)
    picked = ", ".join("%s::date" if column == "as_of" else column for column in SNAPSHOT_COLUMNS)
    with connection.cursor() as cursor:
        for days in (1, 7, 30, 90):
            cursor.execute(
                f"INSERT INTO scorecards_scoresnapshot ({columns}) SELECT {picked} "
                "FROM scorecards_scoresnapshot WHERE as_of = %s "
                "ON CONFLICT (account_id, as_of) DO NOTHING",
                [AS_OF - timedelta(days=days), AS_OF],
            )
        cursor.execute("VACUUM ANALYZE scorecards_scoresnapshot")
    queue.put({})


def _score_chunk(chunk_id: int) -> float:
    from scorecards.models import ScoreRunChunk
    from scorecards.services import scoring

    scoring.score_chunk_compute(chunk=ScoreRunChunk.objects.select_related("run").get(pk=chunk_id))
    return peak_rss_mb()


# --- (b) floor -----------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """Counts what COPY sends and keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.bytes += len(chunk)
        return len(chunk)


def run_floor(url: str, queue: multiprocessing.Queue) -> None:
    django_setup(url)
    from django.db import connection

    columns = "account_id, measure_id, raw_value, as_of, id"
    with connection.cursor() as cursor:
        sink = _Sink()
        started = time.monotonic()
        cursor.copy_expert(
            f"COPY (SELECT {columns} FROM scorecards_measurevalue WHERE as_of <= '{AS_OF}') "
            "TO STDOUT WITH (FORMAT csv)",
            sink,
        )
        copy_out_all = time.monotonic() - started

        sink = _Sink()
        started = time.monotonic()
        cursor.copy_expert(
            f"COPY (SELECT DISTINCT ON (account_id, measure_id) {columns} "
            f"FROM scorecards_measurevalue WHERE as_of <= '{AS_OF}' "
            "ORDER BY account_id, measure_id, as_of DESC, id DESC) TO STDOUT WITH (FORMAT csv)",
            sink,
        )
        copy_out_latest = time.monotonic() - started

        snapshot_columns = (
            "account_id, as_of, scorecard_id, scorecard_version, run_id, overall, computed, band, "
            "coverage, trend_7, trend_30, trend_90, groups, measures, exceptions, "
            "missing_measures, biggest_lever, error, created_at"
        )
        rows = io.BytesIO()
        cursor.copy_expert(
            f"COPY (SELECT {snapshot_columns} FROM scorecards_scoresnapshot "
            f"WHERE as_of = '{AS_OF}') TO STDOUT WITH (FORMAT csv)",
            rows,
        )
        cursor.execute(
            "CREATE TEMP TABLE floor_snapshots AS SELECT * FROM scorecards_scoresnapshot "
            "WITH NO DATA"
        )
        rows.seek(0)
        started = time.monotonic()
        cursor.copy_expert(
            f"COPY floor_snapshots ({snapshot_columns}) FROM STDIN WITH (FORMAT csv)", rows
        )
        copy_in = time.monotonic() - started
    queue.put(
        {
            "copy_out_all": copy_out_all,
            "copy_out_latest": copy_out_latest,
            "copy_in": copy_in,
            "peak_mb": peak_rss_mb(),
        }
    )


# --- (c) naive -----------------------------------------------------------------------------------


def run_naive(url: str, sample: int, queue: multiprocessing.Queue) -> None:
    """What one would write without thinking in sets: per account, per measure, a query."""
    django_setup(url)
    from accounts.models import Account
    from scorecards.models import MeasureValue, Scorecard, ScoreSnapshot

    scorecard = Scorecard.objects.get(is_default=True)
    members = list(scorecard.scorecard_measures.select_related("measure", "group"))
    bands = list(scorecard.bands.order_by("min_score"))
    accounts = list(Account.objects.order_by("pk")[:sample])
    started = time.monotonic()
    for account in accounts:
        group_sums: dict[int, list[float]] = {}
        for member in members:
            value = (
                MeasureValue.objects.filter(
                    account=account, measure=member.measure, as_of__lte=AS_OF
                )
                .order_by("-as_of", "-id")
                .first()
            )
            if value is None:
                continue
            age = (AS_OF - value.as_of).days
            if member.measure.max_age_days is not None and age > member.measure.max_age_days:
                continue
            score = _naive_score(member.measure, value.raw_value)
            sums = group_sums.setdefault(member.group_id, [0.0, 0.0, float(member.group.weight)])
            sums[0] += float(member.weight) * score
            sums[1] += float(member.weight)
        present = [(s[2], s[0] / s[1]) for s in group_sums.values()]
        overall = (
            round(sum(w * s for w, s in present) / sum(w for w, _ in present), 2)
            if present
            else None
        )
        band = (
            "Not scored"
            if overall is None
            else [b for b in bands if b.min_score <= overall][-1].label
        )
        ScoreSnapshot.objects.update_or_create(
            account=account,
            as_of=AS_OF - timedelta(days=1000),  # a day of its own: ours stays untouched
            defaults={
                "scorecard": scorecard,
                "scorecard_version": scorecard.version,
                "overall": overall,
                "band": band,
                "coverage": 1,
            },
        )
    queue.put(
        {"seconds": time.monotonic() - started, "sample": len(accounts), "peak_mb": peak_rss_mb()}
    )


def _naive_score(measure, raw: float) -> float:
    if measure.mapping_type == "direct":
        return min(max(raw, 0), 100)
    if measure.mapping_type == "linear":
        share = min(max((raw - measure.lo) / (measure.hi - measure.lo), 0), 1) * 100
        return share if measure.higher_is_better else 100 - share
    score = measure.steps[0][1]
    for threshold, step_score in measure.steps:
        if threshold <= raw:
            score = step_score
    return score


# --- Main ----------------------------------------------------------------------------------------


def in_child(target, *args) -> dict:
    """Run one part in a fresh process so that its peak memory is its own."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--naive-sample", type=int, default=1000, help="accounts of the naive loop (0: skip it)"
    )
    parser.add_argument(
        "--skip-like-for-like",
        action="store_true",
        help="skip (d): the runs with the old trend reads and after a publish",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="processes scoring chunks (ours)"
    )
    parser.add_argument(
        "--skip-build", action="store_true", help="reuse the database of the last run"
    )
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument(
        "--compare-unpartitioned",
        action="store_true",
        help="then time (a) again on plain, unpartitioned history tables",
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
        built = in_child(_build_child, args.url, args.accounts, args.days)
    value_rows = built["value_rows"]
    print(
        f"data: {args.accounts:,} accounts × 10 measures × {args.days} days = "
        f"{value_rows:,} value rows (built in {built['build_seconds']:.0f} s)"
    )

    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    # Today's snapshots, copied to the anchor days.
    in_child(run_ours, args.url, args.workers, "nightly")
    in_child(anchors_copy, args.url)
    ours = in_child(run_ours, args.url, 1, "nightly")
    ours_parallel = in_child(run_ours, args.url, args.workers, "nightly")
    if not args.skip_like_for_like:
        before = in_child(run_ours, args.url, 1, "before")
        publish = in_child(run_ours, args.url, 1, "publish")
    floor = in_child(run_floor, args.url)
    naive = in_child(run_naive, args.url, args.naive_sample) if args.naive_sample else None

    n = args.accounts
    floor_all = floor["copy_out_all"] + floor["copy_in"]
    floor_latest = floor["copy_out_latest"] + floor["copy_in"]
    naive_scaled = naive["seconds"] * n / naive["sample"] if naive else float("nan")
    print()
    print(
        f"(a) ours, end to end:       {ours['seconds']:8.2f} s  "
        f"{n / ours['seconds']:>10,.0f} accounts/s  {value_rows / ours['seconds']:>12,.0f} "
        f"value rows/s  peak {ours['peak_mb']:.0f} MB  "
        f"({ours['scored']:,} scored, {ours['not_scored']:,} not scored, "
        f"{ours['snapshots']:,} snapshots)"
    )
    print(
        f"    ours, {args.workers} workers:        {ours_parallel['seconds']:8.2f} s  "
        f"{n / ours_parallel['seconds']:>10,.0f} accounts/s  "
        f"peak {ours_parallel['peak_mb']:.0f} MB per process"
    )
    print(
        f"    of which publishing the current scores: {ours['finish_seconds']:.2f} s (1 worker), "
        f"{ours_parallel['finish_seconds']:.2f} s ({args.workers} workers): "
        f"{ours_parallel['finish_seconds'] / n * 1e6:.1f} µs per account"
    )
    print(
        f"(b) floor, all values:      {floor_all:8.2f} s  (COPY out {value_rows:,} rows "
        f"{floor['copy_out_all']:.2f} s + COPY in {n:,} snapshots {floor['copy_in']:.2f} s)"
    )
    print(
        f"    floor, latest values:   {floor_latest:8.2f} s  (COPY out of the DISTINCT ON "
        f"latest value per account and measure {floor['copy_out_latest']:.2f} s + COPY in)"
    )
    if naive:
        print(
            f"(c) naive ORM loop:         {naive_scaled:8.2f} s  (scaled from {naive['sample']:,} "
            f"accounts in {naive['seconds']:.2f} s)  peak {naive['peak_mb']:.0f} MB"
        )
    if not args.skip_like_for_like:
        _like_for_like_print(ours, before, publish)
    print()
    for label, result in (("1 worker", ours), (f"{args.workers} workers", ours_parallel)):
        print(
            f"{label}: ours / floor (all values) {result['seconds'] / floor_all:.2f}×, "
            f"ours / floor (latest values) {result['seconds'] / floor_latest:.2f}×, "
            f"naive / ours {naive_scaled / result['seconds']:.0f}×"
        )
    chunks = -(-n // 10_000)
    print(
        f"per chunk of 10,000 accounts: {ours['seconds'] / chunks:.2f} s on one worker, "
        f"{ours_parallel['seconds'] * args.workers / chunks:.2f} worker-seconds on {args.workers}"
    )
    sizes = in_child(_sizes_child, args.url)
    print(
        f"sizes (tables + indexes + TOAST): snapshots {sizes['snapshot_bytes'] / 2**20:,.0f} MB "
        f"for {sizes['snapshot_rows']:,} rows = "
        f"{sizes['snapshot_bytes'] / max(sizes['snapshot_rows'], 1):,.0f} "
        f"B per account-day; values {sizes['value_bytes'] / 2**20:,.0f} MB for "
        f"{value_rows:,} rows = {sizes['value_bytes'] / value_rows:,.0f} B per value, "
        f"{sizes['value_bytes'] / value_rows * 10:,.0f} B per account-day (10 measures)"
    )
    if args.compare_unpartitioned:
        started = time.monotonic()
        in_child(_migrate_child, args.url, "0010_snapshot_no_foreign_key_indexes")
        print(f"\nunpartitioned (migration 0011 reversed in {time.monotonic() - started:.0f} s):")
        plain = in_child(run_ours, args.url, 1, "nightly")
        plain_parallel = in_child(run_ours, args.url, args.workers, "nightly")
        for label, part, flat in (
            ("1 worker", ours, plain),
            (f"{args.workers} workers", ours_parallel, plain_parallel),
        ):
            print(
                f"{label}: partitioned {part['seconds']:.2f} s, unpartitioned "
                f"{flat['seconds']:.2f} s, partitioned / unpartitioned "
                f"{part['seconds'] / flat['seconds']:.2f}×"
            )
        print("the database is left unpartitioned: build it again before timing partitioned")


def _like_for_like_print(ours: dict, before: dict, publish: dict) -> None:
    print(
        f"(d) trend reads of before rule 13, 1 worker: {before['seconds']:8.2f} s "
        f"(ours / before: {ours['seconds'] / before['seconds']:.2f}×)"
    )
    print(
        f"    after a publish (today + the 1/7/30/90-day anchors rescored), 1 worker: "
        f"{publish['seconds']:8.2f} s ({publish['seconds'] / ours['seconds']:.2f}× the nightly "
        f"run; target under 4×)  peak {publish['peak_mb']:.0f} MB"
    )


def _sizes_child(url: str, queue: multiprocessing.Queue) -> None:
    django_setup(url)
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for key, table in (
            ("snapshot", "scorecards_scoresnapshot"),
            ("value", "scorecards_measurevalue"),
        ):
            cursor.execute(
                "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(%s::regclass)",
                [table],
            )
            sizes[f"{key}_bytes"] = int(cursor.fetchone()[0])
            cursor.execute(f"SELECT count(*) FROM {table}")
            sizes[f"{key}_rows"] = cursor.fetchone()[0]
    queue.put(sizes)


def _migrate_child(url: str, target: str, queue: multiprocessing.Queue) -> None:
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", "scorecards", target, verbosity=0)
    queue.put({})


def _count_child(url: str, queue: multiprocessing.Queue) -> None:
    django_setup(url)
    from scorecards.models import MeasureValue

    queue.put({"value_rows": MeasureValue.objects.count(), "build_seconds": 0.0})


def _build_child(url: str, accounts: int, days: int, queue: multiprocessing.Queue) -> None:
    queue.put(build_database(url, accounts, days))


if __name__ == "__main__":
    main()
