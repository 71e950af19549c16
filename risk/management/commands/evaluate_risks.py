"""manage.py evaluate_risks [--date D] [--dry-run]"""

from datetime import date

from django.core.management.base import BaseCommand
from django.utils import timezone

from risk import services
from risk.choices import RiskType


class Command(BaseCommand):
    help = (
        "Evaluate every enabled risk rule over the active accounts for a date, and print the "
        "number of risks of each type. With --dry-run nothing is written or emailed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD; default today")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be raised; write nothing."
        )

    def handle(self, *args, **options):
        as_of = options["date"] or timezone.localdate()
        evaluation = services.risks_evaluate(as_of=as_of, dry_run=options["dry_run"])
        verb = "would raise" if options["dry_run"] else "raised"
        self.stdout.write(
            f"Risks on {as_of.isoformat()} over {evaluation.accounts} accounts"
            f"{' (dry run: nothing written)' if options['dry_run'] else ''}:"
        )
        # firing: risks the rule raised or refreshed today; new: opened today; open: the
        # type's open risks afterwards (events such as sponsor_left stay open until closed).
        self.stdout.write(
            f"{'type':<22}{'firing':>8}{'new':>6}{'cleared':>9}{'resolved':>10}{'open':>7}"
        )
        for risk_type in RiskType.values:
            self.stdout.write(
                f"{risk_type:<22}{evaluation.firing[risk_type]:>8}"
                f"{evaluation.raised[risk_type]:>6}{evaluation.cleared[risk_type]:>9}"
                f"{evaluation.resolved[risk_type]:>10}{evaluation.open[risk_type]:>7}"
            )
        self.stdout.write(
            f"{sum(evaluation.firing.values())} risks firing; {verb} "
            f"{sum(evaluation.raised.values())} new; "
            f"{sum(evaluation.open.values())} open."
        )
