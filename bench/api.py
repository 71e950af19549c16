"""API benchmark: latency and throughput of the read endpoints behind gunicorn, and the
10,000-row measure-values POST, against the server's own floor measured in the same run.

    .venv/bin/python bench/api.py [--accounts 100000] [--days 30] [--seconds 10]
        [--concurrency 1,8,16] [--workers CORES] [--worker-class sync] [--threads 4]
        [--no-preload] [--skip-build]

Builds a throwaway PostgreSQL database (BENCH_API_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench_api; only names starting with
healthscore_bench_ are ever dropped) with `seed_demo --accounts N --days D` ending yesterday,
scores yesterday for every account (risks are not evaluated: no endpoint measured here reads
them, and on 100,000 accounts they take longer than the rest together), makes every cached
answer unreachable, then serves the app with gunicorn on 127.0.0.1 (gunicorn.conf.py with the
workers asked for, DEBUG off, inline Celery, the cache in Redis when REDIS_URL or
BENCH_CACHE_URL is given, API throttle raised out of the way) and loads it from another
process (wrk, else Python threads) at each steady concurrency for a fixed time, after an
uncounted warm-up:
  floor:  GET /login/ (no database, no API machinery) and GET /api/v1/recompute/?page_size=1
          (key authentication, permissions, throttle, one small query: the API's floor);
  GET /api/v1/accounts/ (first page), GET /api/v1/accounts/<external_id>/score/ (1,000
  accounts in turn), GET /api/v1/portfolio/?group_by=segment, as a CS Leader's key (sees all);
  and a poller's GET of one score with the If-None-Match of its last answer (304).
Then POSTs 10,000 measure values of today (new rows: one measure, each of the first 10,000
accounts) as an integration's key, and posts the same body again (the idempotent retry), for
three measures.
Prints p50/p95/p99 and requests/s, each read's p95 against the floor, the POST seconds, and
each figure against its target (issue #6).
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/healthscore_bench_api"
SCORE_SAMPLE = 1000
POST_ROWS = 10_000
# Pushed measures: the demo derives adoption, engagement and deployment from usage metrics,
# and a push of a derived measure is refused.
POST_MEASURES = ("roi", "support", "nps")
# A raw value each measure accepts (NPS is a whole number from -100 to 100).
RAW_VALUE = {"nps": lambda rng: rng.randint(-100, 100)}
TARGET_P95_MS = {"list": 50, "score": 50, "portfolio": 200, "not-modified": 50}
TARGET_POST_SECONDS = 2.0


def fixtures(url: str, post_rows: int) -> dict:
    """API keys (a CS Leader's to read, an integration's to push) and the accounts to ask for."""
    common.django_setup(url)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.authentication import api_key_create
    from accounts.models import Account, ApiKey
    from scorecards.models import MeasureValue

    # The seed ends yesterday: today's values are a previous run's POSTs on a reused database.
    # Forgotten, so that the first POST creates its rows again.
    MeasureValue.objects.filter(as_of__gte=timezone.localdate()).delete()
    common.caches_invalidate()
    users = get_user_model().objects
    _, read_key = api_key_create(
        owner=users.get(username="leader"), name="bench api read", scopes=[ApiKey.Scope.READ]
    )
    _, write_key = api_key_create(
        owner=users.get(username="integration"),
        name="bench api write",
        scopes=[ApiKey.Scope.READ, ApiKey.Scope.WRITE_MEASURES],
    )
    scored = list(
        Account.objects.filter(current_score__overall__isnull=False)
        .order_by("pk")
        .values_list("external_id", flat=True)
    )
    return {
        "read_key": read_key,
        "write_key": write_key,
        "accounts": Account.objects.count(),
        "scored": len(scored),
        "score_sample": random.Random(6).sample(scored, min(SCORE_SAMPLE, len(scored))),
        "post_accounts": list(
            Account.objects.order_by("pk").values_list("external_id", flat=True)[:post_rows]
        ),
    }


def not_modified_headers(base: str, path: str, headers: dict[str, str]) -> dict[str, str]:
    """A poller's headers: its key and the ETag of its last answer, checked to get a 304.
    The first answers may still change what they depend on (a renewal calibration fitted on
    first use, with tasks inline), so the ETag is taken again until it holds, three tries."""
    import requests

    etag = requests.get(base + path, headers=headers, timeout=60).headers["ETag"]
    for _ in range(3):
        polled = {**headers, "If-None-Match": etag}
        answer = requests.get(base + path, headers=polled, timeout=60)
        if answer.status_code == 304:
            return polled
        etag = answer.headers["ETag"]
    raise SystemExit(f"GET {path} with If-None-Match answered {answer.status_code}")


def post_measure_values(base: str, key: str, rows: list[dict]) -> tuple[float, dict]:
    """One POST, timed from the first byte sent to the last byte of the answer."""
    import requests

    body = json.dumps(rows).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    common.server_settle(base)
    started = time.perf_counter()
    response = requests.post(
        f"{base}/api/v1/measure-values/", data=body, headers=headers, timeout=120
    )
    seconds = time.perf_counter() - started
    if response.status_code not in (200, 201):
        raise SystemExit(
            f"POST measure-values answered {response.status_code}: {response.text[:800]}"
        )
    return seconds, response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30, help="days of measure history seeded")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per load")
    parser.add_argument(
        "--concurrency", default="1,8,16", help="steady connections, comma-separated"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (one a core)"
    )
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--no-preload", action="store_true", help="each worker loads the app")
    parser.add_argument("--post-rows", type=int, default=POST_ROWS)
    parser.add_argument("--skip-build", action="store_true", help="reuse the last run's database")
    parser.add_argument("--url", default=os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    # The seed and the scores end yesterday, so that the POST pushes today's values: new rows,
    # as an integration's nightly push makes them.
    today = datetime.now(UTC).date()  # the server's localdate (TIME_ZONE is UTC)
    yesterday = today - timedelta(days=1)

    print(common.machine_line(args.url))
    print(f"{common.load_average_line()} at start")
    if args.skip_build:
        print("data: reusing the database of the last run")
    else:
        built = common.portfolio_build(
            args.url,
            accounts=args.accounts,
            days=args.days,
            as_of=yesterday,
            score_days=1,
            has_risks=False,
        )
        print(
            f"data: seed_demo {args.accounts:,} accounts × {args.days} days = "
            f"{built['value_rows']:,} measure values (migrate {built['migrate_seconds']:.0f} s, "
            f"seed {built['seed_seconds']:.0f} s); scored {yesterday} in "
            f"{built['score_seconds']:.0f} s: {built['accounts_scored']:,} scored, "
            f"{built['accounts_not_scored']:,} not scored "
            f"(churned accounts are inactive and not scored); VACUUM ANALYZE "
            f"{built['vacuum_seconds']:.0f} s"
        )
    given = common.in_child(fixtures, args.url, args.post_rows)
    setup = common.ServerSetup(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        preload=not args.no_preload,
    )
    cache = common.app_env(args.url).get("CACHE_URL", "local memory (one per process)")
    print(
        f"database: {given['accounts']:,} accounts, {given['scored']:,} with a current score; "
        f"server: gunicorn, {setup}, 127.0.0.1, DEBUG off, cache {cache}; "
        f"{args.seconds:g} s per load after a 2 s warm-up"
    )
    print(f"{common.load_average_line()} before the load")
    print()

    read = {"Authorization": f"Bearer {given['read_key']}"}
    score_paths = [
        f"/api/v1/accounts/{external_id}/score/" for external_id in given["score_sample"]
    ]
    start: dict = {}
    with common.gunicorn(args.url, setup=setup, start=start) as base:
        print(
            f"start: first answer {start['seconds_to_first_answer']:.1f} s after the process "
            f"started; that first request (GET /login/) took {start['first_request_ms']:.0f} ms"
        )
        polled = not_modified_headers(base, score_paths[0], read)
        for level in levels:

            def measure(label, paths, headers, level=level, expected_status=200):
                return common.load_measure(
                    base,
                    paths,
                    label=label,
                    headers=headers,
                    concurrency=level,
                    seconds=args.seconds,
                    expected_status=expected_status,
                )

            login = measure("floor: GET /login/ (anonymous, no DB)", ["/login/"], {})
            print(common.load_line(login))
            floor = measure(
                "floor: GET /api/v1/recompute/?page_size=1",
                ["/api/v1/recompute/?page_size=1"],
                read,
            )
            print(common.load_line(floor))
            for kind, label, paths in (
                ("list", "GET /api/v1/accounts/ (first page of 50)", ["/api/v1/accounts/"]),
                (
                    "score",
                    f"GET /api/v1/accounts/<id>/score/ ({len(score_paths):,} ids)",
                    score_paths,
                ),
                (
                    "portfolio",
                    "GET /api/v1/portfolio/?group_by=segment",
                    ["/api/v1/portfolio/?group_by=segment"],
                ),
                (
                    "not-modified",
                    "GET score with If-None-Match: 304",
                    [score_paths[0]],
                ),
            ):
                headers = polled if kind == "not-modified" else read
                load = measure(
                    label, paths, headers, expected_status=304 if headers is polled else 200
                )
                print(common.load_line(load, target_ms=TARGET_P95_MS[kind], floor=floor))
            print()

        write_key = given["write_key"]
        rng = random.Random(7)
        firsts, retries = [], []
        for measure_key in POST_MEASURES:
            rows = [
                {
                    "account": external_id,
                    "measure": measure_key,
                    "raw_value": RAW_VALUE.get(measure_key, lambda rng: round(rng.random(), 4))(
                        rng
                    ),
                    "as_of": today.isoformat(),
                    "source": "api",
                }
                for external_id in given["post_accounts"]
            ]
            first, first_result = post_measure_values(base, write_key, rows)
            retry, retry_result = post_measure_values(base, write_key, rows)
            firsts.append(first)
            retries.append(retry)
            print(
                f"POST /api/v1/measure-values/ {len(rows):,} rows of {measure_key:<10}  "
                f"first {first:5.2f} s {first_result}   retry {retry:5.2f} s {retry_result}"
            )
        worst = max(firsts + retries)
        verdict = "met" if worst < TARGET_POST_SECONDS else "MISSED"
        print(
            f"POST {args.post_rows:,} rows: first median {statistics.median(firsts):.2f} s, "
            f"retry median {statistics.median(retries):.2f} s, worst {worst:.2f} s  "
            f"target < {TARGET_POST_SECONDS:g} s: {verdict}"
        )
    print(f"{common.load_average_line()} at the end")


if __name__ == "__main__":
    main()
