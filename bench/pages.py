"""Pages benchmark: the CSM dashboard, the account page and the portfolio page behind gunicorn,
logged in, against the login page measured in the same run.

    .venv/bin/python bench/pages.py [--accounts 10000] [--days 90] [--score-days 30]
        [--seconds 10] [--concurrency 1,8,16] [--workers 3] [--worker-class gthread]
        [--threads 4] [--no-preload] [--skip-build] [--profile]

Builds a throwaway PostgreSQL database (BENCH_PAGES_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench_pages; only names starting with
healthscore_bench_ are ever dropped) with `seed_demo --accounts N --days D` ending today,
scores the last `score-days` days (so that the pages have trends and a score history) and
evaluates risks after the last one, as the nightly run does (the default playbooks make their
tasks), then adds open tasks on the open risks until there are `--tasks` of them (default two
per account: about 20,000 on 10,000 accounts, due from a week ago to three weeks ahead, so the
dashboard's My tasks card has overdue and this week's). Then makes every cached page
unreachable (as a write to everything would), serves the app with gunicorn on 127.0.0.1
(gunicorn.conf.py, as the Dockerfile runs it, with the workers asked for; DEBUG off; the cache
in Redis when REDIS_URL or BENCH_CACHE_URL is given), times the first request after the start
and each page's first request (computed, not cached), logs in through the login form (CSRF
and all) as the CSM who owns the most accounts and as the CS Leader, and loads each page from
another process (wrk, else Python threads) at each steady concurrency for a fixed time, after
an uncounted warm-up:
  floor:  GET /login/ (anonymous, no database);
  GET /dashboard/ as the CSM (their accounts) and as the leader (every account);
  GET /accounts/<pk>/ as the CSM (200 of their accounts in turn);
  GET /portfolio/ as the leader;
  GET /accounts/<pk>/ as the CSM right after every cached page was made stale (as a nightly
      run makes them: 9 am after the run), through all of their accounts, so that every
      request computes its page (the CSM's 2,500 accounts outlast 12 s of requests).
Prints p50/p95/p99 and requests/s, each page's p95 against the floor, and the target
(issue #19: p95 under 300 ms with 8 clients and under 600 ms with 16, at 10,000 accounts).

--profile runs each page in this machine's Python under pyinstrument instead (Django's test
client against the same database, no server): computed (every cache made stale before each
request) and served from the cache, and prints the functions that take the most time.
"""

import argparse
import os
import random
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/healthscore_bench_pages"
ACCOUNT_SAMPLE = 200
TARGET_P95_MS = {1: 300, 8: 300, 16: 600}
TARGET_FIRST_REQUEST_MS = 1000
PROFILE_REPEAT = 10
PROFILE_LINES = 14


def fixtures(url: str) -> dict:
    """Who logs in, and which account pages the CSM opens."""
    common.django_setup(url)
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from accounts import roles
    from accounts.models import Account
    from demo.services import DEMO_PASSWORD
    from playbooks.models import Task
    from risk.choices import UNRESOLVED_STATUSES
    from risk.models import Risk

    csm = (
        get_user_model()
        .objects.filter(groups__name=roles.CSM)
        .annotate(owned=Count("owned_accounts"))
        .order_by("-owned", "username")
        .first()
    )
    owned = list(Account.objects.filter(owner=csm).order_by("pk").values_list("pk", flat=True))
    common.caches_invalidate()
    return {
        "csm": csm.username,
        "csm_accounts": len(owned),
        "accounts": Account.objects.count(),
        "scored": Account.objects.filter(current_score__overall__isnull=False).count(),
        "open_risks": Risk.objects.filter(status__in=UNRESOLVED_STATUSES).count(),
        "open_tasks": Task.objects.filter(status="open").count(),
        "password": DEMO_PASSWORD,
        "account_sample": random.Random(7).sample(owned, min(ACCOUNT_SAMPLE, len(owned))),
        "owned_shuffled": random.Random(11).sample(owned, len(owned)),
    }


def scores_refreshed(url: str) -> None:
    """Every cached page made unreachable, as a finished nightly run makes them."""
    common.django_setup(url)
    common.caches_invalidate()


def tasks_top_up(url: str, target: int, today_iso: str) -> int:
    """Open tasks on the open risks (round robin, each to the account's owner) until `target`
    are open; due dates spread from 7 days ago to 21 days ahead. Returns how many it added."""
    common.django_setup(url)
    from datetime import date, timedelta

    from playbooks.models import Task
    from risk.choices import UNRESOLVED_STATUSES
    from risk.models import Risk

    missing = target - Task.objects.filter(status="open").count()
    risks = list(
        Risk.objects.filter(status__in=UNRESOLVED_STATUSES)
        .order_by("pk")
        .values_list("pk", "account_id", "account__owner_id")
    )
    if missing <= 0 or not risks:
        return 0
    today = date.fromisoformat(today_iso)
    rng = random.Random(7)
    tasks = [
        Task(
            account_id=account_id,
            risk_id=risk_id,
            title=f"Follow-up {n // len(risks) + 1}",
            due_on=today + timedelta(days=rng.randint(-7, 21)),
            assignee_id=owner_id,
        )
        for n, (risk_id, account_id, owner_id) in (
            (n, risks[n % len(risks)]) for n in range(missing)
        )
    ]
    Task.objects.bulk_create(tasks, batch_size=5000)
    return len(tasks)


def session_cookie(base: str, username: str, password: str) -> dict[str, str]:
    """Log in through the login form, as a browser does; the session cookie as a header."""
    import requests

    session = requests.Session()
    form = session.get(f"{base}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        raise SystemExit(f"Logging in as {username} failed: {response.status_code}")
    return {"Cookie": f"sessionid={session.cookies['sessionid']}"}


def profile(url: str, given: dict) -> str:
    """Each page under pyinstrument, computed and then cached: the functions with the most
    time of their own (the "flat" view), PROFILE_REPEAT requests each."""
    common.django_setup(url)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from pyinstrument import Profiler

    users = get_user_model().objects
    pages = (
        ("dashboard as the CSM", "/dashboard/", given["csm"]),
        ("dashboard as the leader", "/dashboard/", "leader"),
        ("account page", f"/accounts/{given['account_sample'][0]}/", given["csm"]),
        ("portfolio", "/portfolio/", "leader"),
    )
    out = []
    for label, path, username in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users.get(username=username))
        client.get(path)  # imports and templates, not measured
        for state in ("computed", "cached"):
            profiler = Profiler(interval=0.0005)
            with profiler:
                for _ in range(PROFILE_REPEAT):
                    if state == "computed":
                        common.caches_invalidate()
                    assert client.get(path).status_code == 200
            session = profiler.last_session
            per_request = session.duration / PROFILE_REPEAT * 1000
            text = profiler.output_text(unicode=True, color=False, flat=True)
            lines = [line for line in text.splitlines() if line.strip()][:PROFILE_LINES]
            out.append(f"--- {label}, {state}: {per_request:.0f} ms a request (profiled)")
            out += lines
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90, help="days of measure history seeded")
    parser.add_argument("--score-days", type=int, default=30, help="days scored, to today")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per load")
    parser.add_argument(
        "--concurrency", default="1,8,16", help="steady connections, comma-separated"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (one a core)"
    )
    parser.add_argument(
        "--tasks", type=int, default=None, help="open tasks to have (default 2 per account)"
    )
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--no-preload", action="store_true", help="each worker loads the app")
    parser.add_argument("--skip-build", action="store_true", help="reuse the last run's database")
    parser.add_argument("--profile", action="store_true", help="pyinstrument, no load")
    parser.add_argument(
        "--loads",
        type=lambda text: set(text.split(",")),
        default={"pages", "first-views"},
        help="which loads, comma-separated: pages (each page, cached after its first "
        "request), first-views (the account page's first views after a run)",
    )
    parser.add_argument("--url", default=os.environ.get("BENCH_PAGES_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    today = datetime.now(UTC).date()  # the server's localdate (TIME_ZONE is UTC)

    print(common.machine_line(args.url))
    print(f"{common.load_average_line()} at start")
    if args.skip_build:
        print("data: reusing the database of the last run")
    else:
        built = common.portfolio_build(
            args.url,
            accounts=args.accounts,
            days=args.days,
            as_of=today,
            score_days=args.score_days,
            has_risks=True,
        )
        print(
            f"data: seed_demo {args.accounts:,} accounts × {args.days} days = "
            f"{built['value_rows']:,} measure values (migrate {built['migrate_seconds']:.0f} s, "
            f"seed {built['seed_seconds']:.0f} s); {built['score_days']} days scored to {today} "
            f"in {built['score_seconds']:.0f} s ({built['accounts_scored']:,} scored, "
            f"{built['accounts_not_scored']:,} not scored today), risks evaluated in "
            f"{built['risk_seconds']:.0f} s; VACUUM ANALYZE {built['vacuum_seconds']:.0f} s"
        )
        target = args.tasks if args.tasks is not None else 2 * args.accounts
        added = common.in_child(tasks_top_up, args.url, target, today.isoformat())
        print(f"data: {added:,} open tasks added to reach {target:,}")
    given = common.in_child(fixtures, args.url)
    setup = common.ServerSetup(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        preload=not args.no_preload,
    )
    cache = common.app_env(args.url).get("CACHE_URL", "local memory (one per process)")
    print(
        f"database: {given['accounts']:,} accounts, {given['scored']:,} with a current score, "
        f"{given['open_risks']:,} unresolved risks, {given['open_tasks']:,} open tasks; "
        f"{given['csm']} owns {given['csm_accounts']:,} accounts; server: gunicorn, {setup}, "
        f"127.0.0.1, DEBUG off, cache {cache}; {args.seconds:g} s per load after a 2 s warm-up"
    )
    if args.profile:
        print(f"{common.load_average_line()} before profiling")
        print(common.in_child(profile, args.url, given))
        print(f"{common.load_average_line()} at the end")
        return
    print(f"{common.load_average_line()} before the load")
    print()

    start: dict = {}
    with common.gunicorn(args.url, setup=setup, start=start) as base:
        print(
            f"start: first answer {start['seconds_to_first_answer']:.1f} s after the process "
            f"started; that first request (GET /login/) took {start['first_request_ms']:.0f} ms"
            f"  target < {TARGET_FIRST_REQUEST_MS} ms: "
            f"{'met' if start['first_request_ms'] < TARGET_FIRST_REQUEST_MS else 'MISSED'}"
        )
        as_csm = session_cookie(base, given["csm"], given["password"])
        as_leader = session_cookie(base, "leader", given["password"])
        account_paths = [f"/accounts/{pk}/" for pk in given["account_sample"]]
        pages = (
            (
                f"GET /dashboard/ as {given['csm']} ({given['csm_accounts']:,} accounts)",
                ["/dashboard/"],
                as_csm,
            ),
            (
                f"GET /dashboard/ as leader ({given['accounts']:,} accounts)",
                ["/dashboard/"],
                as_leader,
            ),
            (
                f"GET /accounts/<pk>/ as {given['csm']} ({len(account_paths)} pks)",
                account_paths,
                as_csm,
            ),
            ("GET /portfolio/ as leader", ["/portfolio/"], as_leader),
        )
        first_views = (
            f"GET /accounts/<pk>/ as {given['csm']}, first views after a run",
            [f"/accounts/{pk}/" for pk in given["owned_shuffled"]],
            as_csm,
        )
        for label, paths, headers in pages if "pages" in args.loads else ():
            first = common.first_request_ms(base, paths[0], headers)
            print(f"first request, computed: {label:<44} {first:7.0f} ms")
        print()

        def page_load(label, paths, headers, level, **options):
            return common.load_measure(
                base,
                paths,
                label=label,
                headers=headers,
                concurrency=level,
                seconds=args.seconds,
                **options,
            )

        floors = {}
        for level in levels:
            floor = page_load("floor: GET /login/ (anonymous, no DB)", ["/login/"], {}, level)
            print(common.load_line(floor))
            for label, paths, headers in pages if "pages" in args.loads else ():
                load = page_load(label, paths, headers, level)
                target = TARGET_P95_MS.get(level)
                print(common.load_line(load, target_ms=target, floor=floor))
            floors[level] = floor
            print()
        # Last: each level makes every cached page stale, which would spoil the loads above.
        for level in levels if "first-views" in args.loads else ():
            common.in_child(scores_refreshed, args.url)
            # No warm-up: it would compute the pages the load then opens.
            load = page_load(*first_views, level, warmup_seconds=0)
            target = TARGET_P95_MS.get(level)
            print(common.load_line(load, target_ms=target, floor=floors[level]))
    print(f"{common.load_average_line()} at the end")


if __name__ == "__main__":
    main()
