"""manage.py seed_demo [--accounts N] [--seed S] [--days D] [--as-of YYYY-MM-DD] [--flush]"""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo import services as demo
from healthscore.generations import ALL, generation_bump


class Command(BaseCommand):
    help = (
        "Load a realistic demo portfolio: users for every role, accounts, contacts, "
        "touchpoints, measure-value history and renewal outcomes. Scores come from "
        "recompute_scores afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=demo.DEFAULT_ACCOUNTS)
        parser.add_argument(
            "--seed", type=int, default=demo.DEFAULT_SEED, help="Same seed, same portfolio."
        )
        parser.add_argument(
            "--days", type=int, default=demo.DEFAULT_DAYS, help="Days of measure history."
        )
        parser.add_argument(
            "--as-of", type=date.fromisoformat, help="Last day of the history; default today."
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="Delete every existing account, and everything it owns, first.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No stage lines.")

    def handle(self, *args, **options):
        if options["accounts"] < 1:
            raise CommandError("--accounts must be 1 or more.")
        if options["days"] < 1:
            raise CommandError("--days must be 1 or more.")
        as_of = options["as_of"] or timezone.localdate()
        started = time.monotonic()

        def progress(line: str) -> None:
            self.stderr.write(f"[{time.monotonic() - started:6.1f} s] {line}", style_func=str)

        is_quiet = options["no_progress"] or options["verbosity"] == 0
        try:
            summary = demo.demo_portfolio_seed(
                accounts=options["accounts"],
                seed=options["seed"],
                days=options["days"],
                as_of=as_of,
                is_flushing=options["flush"],
                progress=None if is_quiet else progress,
            )
        except demo.DemoPortfolioExistsError as error:
            raise CommandError(f"{error} Run seed_demo --flush to replace them.") from error
        # Written in bulk, without signals: cached pages of a previous portfolio are stale.
        generation_bump(*ALL)
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded the demo portfolio (seed {options['seed']}, {options['days']} days "
                f"to {as_of.isoformat()}) in {seconds:.1f} s:"
            )
        )
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in summary.renewal_outcomes.items())
        for label, count, note in (
            ("accounts", summary.accounts, f"{summary.churned_accounts} churned"),
            ("contacts", summary.contacts, ""),
            ("touchpoints", summary.touchpoints, ""),
            ("measure values", summary.measure_values, ""),
            ("metric values", summary.metric_values, "daily usage"),
            ("renewal outcomes", sum(summary.renewal_outcomes.values()), outcomes),
        ):
            self.stdout.write(f"  {label:<17}{count:>10,}  {note}".rstrip())
        self.stdout.write(f"Demo logins, all with the password {summary.password}:")
        for user in summary.users:
            team = f", {user.team} team" if user.team else ""
            where = ", admin at /admin/" if user.is_staff else ""
            self.stdout.write(
                f"  {user.username:<12} {user.role}{team}{where} ({user.first_name} "
                f"{user.last_name})"
            )
        self.stdout.write(
            f"Scores next: manage.py recompute_scores --date {as_of.isoformat()} "
            f"--days {options['days']}"
        )
