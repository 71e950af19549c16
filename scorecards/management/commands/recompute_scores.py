"""manage.py recompute_scores [--date D] [--account EXTERNAL_ID] [--days N] [--resume RUN_ID]
[--inline]

With REDIS_URL set, the days' chunks go to the Celery workers (seven days at a time, see
services/backfill.py) and this command follows their progress; `--inline` (and no REDIS_URL)
scores them here, one after the other."""

import time
from datetime import date

from celery import current_app
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Account
from healthscore.dates import date_out_of_range_message
from scorecards import selectors
from scorecards.models import ScoreRun
from scorecards.services import backfill, scoring


class Command(BaseCommand):
    help = "Score every active account (or one) for a date, or for the N days ending on it."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD; default today")
        parser.add_argument("--account", help="Score only this account (its external_id).")
        parser.add_argument(
            "--days", type=int, default=1, help="Backfill the N days ending on --date."
        )
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="Finish a stopped run.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--inline",
            action="store_true",
            help="Score in this process even when REDIS_URL sends tasks to workers.",
        )

    def handle(self, *args, **options):
        if options["days"] < 1:
            raise CommandError("--days must be 1 or more.")
        account_ids = None
        if options["account"]:
            account = Account.objects.filter(external_id=options["account"]).first()
            if account is None:
                raise CommandError(f"No account with external_id {options['account']!r}.")
            account_ids = [account.pk]
        started = time.monotonic()
        if options["resume"]:
            run = ScoreRun.objects.filter(pk=options["resume"]).first()
            if run is None:
                raise CommandError(f"No run {options['resume']}.")
            # The same reopening as the score_run_resume task: pending, running or failed.
            if not scoring.score_run_reopen(run=run):
                raise CommandError(f"Run {run.pk} has already finished.")
            days = [run.as_of]
            resumed = [run]
            total = run.accounts_total
        else:
            as_of = options["date"] or timezone.localdate()
            problem = date_out_of_range_message(as_of)
            if problem:
                raise CommandError(problem)
            days = scoring.score_dates(as_of=as_of, days=options["days"])
            resumed = []
            total = len(selectors.active_account_ids(account_ids=account_ids)) * len(days)
        with tqdm(
            total=total,
            unit="account",
            disable=options["no_progress"],
            file=self.stderr,
        ) as bar:
            if options["inline"] or current_app.conf.task_always_eager:
                runs = self._inline(days, account_ids=account_ids, resumed=resumed, bar=bar)
            else:
                runs = resumed or [
                    scoring.score_run_create(as_of=day, account_ids=account_ids) for day in days
                ]
                self._on_workers(runs, bar)
        finished = [ScoreRun.objects.get(pk=run.pk) for run in runs]
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Scored {len(finished)} day(s) in {seconds:.1f} s: "
                f"{sum(r.accounts_scored for r in finished)} accounts scored, "
                f"{sum(r.accounts_not_scored for r in finished)} not scored, "
                f"{sum(r.accounts_failed for r in finished)} failed, "
                f"{sum(r.exceptions_fired for r in finished)} exceptions fired."
            )
        )
        for run in finished:
            for error in run.errors[:10]:
                self.stderr.write(f"  account {error['account_id']}: {error['error']}")

    def _inline(
        self, days: list, *, account_ids: list[int] | None, resumed: list[ScoreRun], bar: tqdm
    ) -> list[ScoreRun]:
        runs = []
        for day in days:
            # Each day's run is made when its turn comes: a run waiting its turn would look
            # stalled to the healing (SCORE_RUN_STALL_SECONDS) and be sent to workers.
            run = (
                resumed[0]
                if resumed
                else scoring.score_run_create(as_of=day, account_ids=account_ids)
            )
            runs.append(run)
            bar.set_description(str(run.as_of))
            scoring.score_run_execute_inline(
                run=run, progress=lambda summary, chunk: bar.update(_chunk_size(summary))
            )
        return runs

    def _on_workers(self, runs: list[ScoreRun], bar: tqdm) -> None:
        if not current_app.control.ping(timeout=2):
            raise CommandError("No Celery worker answered: start one, or use --inline.")
        bar.set_description(f"{len(runs)} day(s) on the workers")
        try:
            backfill.score_runs_on_workers(runs=runs, progress=bar.update)
        except backfill.RunsFailed as failed:
            raise CommandError(f"{failed}: resume with --resume RUN_ID.") from failed


def _chunk_size(summary: scoring.ChunkSummary | None) -> int:
    if summary is None:
        return 0
    return summary.accounts_scored + summary.accounts_not_scored + summary.accounts_failed
