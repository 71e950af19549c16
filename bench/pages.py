"""Pages benchmark: the CSM dashboard, the account page and the portfolio page behind gunicorn,
logged in, against the login page measured in the same run.

    .venv/bin/python bench/pages.py [--accounts 10000] [--days 90] [--score-days 30]
        [--seconds 15] [--concurrency 1,8] [--workers 3] [--skip-build]

Builds a throwaway PostgreSQL database (BENCH_PAGES_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench_pages; only names starting with
healthscore_bench_ are ever dropped) with `seed_demo --accounts N --days D` ending today,
scores the last `score-days` days (so that the pages have trends and a score history) and
evaluates risks after the last one, as the nightly run does (the default playbooks make their
tasks), then adds open tasks on the open risks until there are `--tasks` of them (default two
per account: about 20,000 on 10,000 accounts, due from a week ago to three weeks ahead, so the
dashboard's My tasks card has overdue and this week's). Then serves the app with
gunicorn on 127.0.0.1 (sync workers as in the Dockerfile, DEBUG off), logs in through the
login form (CSRF and all) as the CSM who owns the most accounts and as the CS Leader, and
loads each page from another process (wrk, else Python threads) at each steady concurrency
for a fixed time, after an uncounted warm-up:
  floor:  GET /login/ (anonymous, no database);
  GET /dashboard/ as the CSM (their accounts) and as the leader (every account);
  GET /accounts/<pk>/ as the CSM (200 of their accounts in turn);
  GET /portfolio/ as the leader.
Prints p50/p95/p99 and requests/s, each page's p95 against the floor, and the target
(issue #7: p95 under 300 ms with 10,000 accounts).
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
TARGET_P95_MS = 300


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
    return {
        "csm": csm.username,
        "csm_accounts": len(owned),
        "accounts": Account.objects.count(),
        "scored": Account.objects.filter(current_score__overall__isnull=False).count(),
        "open_risks": Risk.objects.filter(status__in=UNRESOLVED_STATUSES).count(),
        "open_tasks": Task.objects.filter(status="open").count(),
        "password": DEMO_PASSWORD,
        "account_sample": random.Random(7).sample(owned, min(ACCOUNT_SAMPLE, len(owned))),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90, help="days of measure history seeded")
    parser.add_argument("--score-days", type=int, default=30, help="days scored, to today")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per load")
    parser.add_argument("--concurrency", default="1,8", help="steady connections, comma-separated")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--tasks", type=int, default=None, help="open tasks to have (default 2 per account)"
    )
    parser.add_argument("--skip-build", action="store_true", help="reuse the last run's database")
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
    print(
        f"database: {given['accounts']:,} accounts, {given['scored']:,} with a current score, "
        f"{given['open_risks']:,} unresolved risks, {given['open_tasks']:,} open tasks; "
        f"{given['csm']} owns "
        f"{given['csm_accounts']:,} accounts; server: gunicorn, {args.workers} sync workers, "
        f"127.0.0.1, DEBUG off; {args.seconds:g} s per load after a 2 s warm-up"
    )
    print(f"{common.load_average_line()} before the load")
    print()

    with common.gunicorn(args.url, workers=args.workers) as base:
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
        for level in levels:
            floor = common.load_measure(
                base,
                ["/login/"],
                label="floor: GET /login/ (anonymous, no DB)",
                headers={},
                concurrency=level,
                seconds=args.seconds,
            )
            print(common.load_line(floor))
            for label, paths, headers in pages:
                load = common.load_measure(
                    base,
                    paths,
                    label=label,
                    headers=headers,
                    concurrency=level,
                    seconds=args.seconds,
                )
                print(common.load_line(load, target_ms=TARGET_P95_MS, floor=floor))
            print()
    print(f"{common.load_average_line()} at the end")


if __name__ == "__main__":
    main()
