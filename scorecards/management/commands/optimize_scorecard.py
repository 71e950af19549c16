"""manage.py optimize_scorecard "NAME" [--horizon-days 90] [--downgraded-churned] [--json]
[--draft]"""

import json

from django.core.management.base import BaseCommand, CommandError

from scorecards.learning import backtest
from scorecards.learning.maths import InsufficientOutcomes
from scorecards.models import Scorecard
from scorecards.services import drafts


class Command(BaseCommand):
    help = (
        "Backtest a scorecard on its renewal outcomes and suggest weights that separate churned "
        "from renewed accounts better (fitted on all but the latest 30 % of outcomes, compared on "
        "those). Nothing changes unless --draft saves the suggestion as a draft to publish."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The scorecard's name.")
        parser.add_argument(
            "--horizon-days",
            type=int,
            default=backtest.DEFAULT_HORIZON_DAYS,
            help="Score each outcome this many days before its renewal date (default 90).",
        )
        parser.add_argument(
            "--downgraded-churned",
            action="store_true",
            help="Count downgraded renewals as churned.",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--draft", action="store_true", help="Save the suggested weights as a draft."
        )

    def handle(self, *args, **options):
        scorecard = Scorecard.objects.filter(name=options["name"]).first()
        if scorecard is None:
            names = ", ".join(
                f"“{name}”" for name in Scorecard.objects.values_list("name", flat=True)
            )
            raise CommandError(f"No scorecard named “{options['name']}”. Scorecards: {names}.")
        if options["horizon_days"] < 1:
            raise CommandError("--horizon-days must be 1 or more.")
        try:
            report = backtest.scorecard_optimize(
                scorecard=scorecard,
                horizon_days=options["horizon_days"],
                downgraded_is_churned=options["downgraded_churned"],
            )
        except InsufficientOutcomes as problem:
            raise CommandError(f"“{scorecard.name}”: {problem}") from None
        if options["draft"]:
            draft = drafts.scorecard_draft_create_from_report(
                scorecard=scorecard, report=report, user=None
            )
            report["draft_id"] = draft.pk
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        self._print(report)

    def _print(self, report: dict) -> None:
        current, suggested = report["current"], report["suggested"]
        write = self.stdout.write
        write(
            f"{report['scorecard']} v{report['scorecard_version']}, scored "
            f"{report['horizon_days']} days before renewal: {report['n_outcomes']} outcomes "
            f"({report['n_not_scored']} not scored), churn rate {_percent(report['churn_rate'])}; "
            f"{report['holdout_size']} latest held out."
        )
        write("")
        write(f"{'':<22}{'current':>10}{'suggested':>12}")
        for label, key in (("AUC, all", "auc"), ("AUC, held out", "auc_holdout")):
            write(f"{label:<22}{_figure(current[key]):>10}{_figure(suggested[key]):>12}")
        write("")
        write("Churn rate by band, held out (current → suggested):")
        for now, then in zip(current["bands_holdout"], suggested["bands_holdout"], strict=True):
            write(
                f"  {now['label']:<12}{now['accounts']:>6} {_percent(now['churn_rate']):>7}"
                f"  →{then['accounts']:>6} {_percent(then['churn_rate']):>7}"
            )
        write("")
        write(f"{'measure':<22}{'own AUC':>9}{'weight %':>10}{'suggested %':>13}")
        for measure in report["measures"]:
            write(
                f"{measure['key']:<22}{_figure(measure['auc']):>9}"
                f"{measure['current_weight']:>10.2f}{measure['suggested_weight']:>13.2f}"
            )
        if "draft_id" in report:
            write("")
            write(self.style.SUCCESS(f"Saved as draft {report['draft_id']}."))


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"
