"""Read-models of the learning pages (PRODUCT.md "Learning from renewals"): the scorecard's
backtest page and a draft's impact preview. The figures come from
``scorecards.learning`` and ``scorecards.services.drafts``; this module only shapes them for
the templates (which never query) and for Chart.js."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import RenewalOutcome
from scorecards.learning import backtest, likelihood, maths, runs
from scorecards.learning import selectors as learning_selectors
from scorecards.models import BacktestRun, Measure, RenewalCalibration, Scorecard, ScorecardDraft
from scorecards.services import drafts


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _measure_names() -> dict[str, str]:
    return dict(Measure.objects.values_list("key", "name"))


@dataclass(frozen=True)
class BacktestPage:
    """Everything the backtest page shows, for one horizon.

    report: runs.scorecard_backtest_and_suggest's report, or None when there is none yet
    (a large portfolio with no finished run at this horizon). run: the run under way at this
    horizon, if any.
    """

    scorecard: Scorecard
    horizon_days: int
    report: dict | None
    run: BacktestRun | None
    is_large: bool
    calibration: RenewalCalibration | None
    measures: list[dict]
    bands: list[dict]
    band_chart: dict
    calibration_chart: dict | None
    empty_message: str
    calibration_message: str

    @property
    def suggested(self) -> dict | None:
        return self.report.get("suggested") if self.report else None

    @property
    def current_interval(self) -> list | None:
        """The held-out AUC's 95 % bootstrap interval with the current weights."""
        return ((self.report or {}).get("current") or {}).get("auc_holdout_interval")

    @property
    def is_suggestion_offered(self) -> bool:
        """Suggested weights become a draft only when they reliably beat the current ones
        (a report from before the bootstrap is not trusted: run it again)."""
        return bool(self.suggested and self.suggested.get("is_better") is True)

    @property
    def not_offered_reason(self) -> str:
        if not self.suggested or self.is_suggestion_offered:
            return ""
        return self.suggested.get("not_better_reason") or (
            "This report predates the held-out AUC's uncertainty: run the backtest again."
        )

    @property
    def default_horizon_days(self) -> int:
        return backtest.DEFAULT_HORIZON_DAYS

    @property
    def is_default_horizon(self) -> bool:
        """Account pages show the renewal likelihood calibrated at the default horizon."""
        return self.horizon_days == backtest.DEFAULT_HORIZON_DAYS


def backtest_page(
    *, scorecard: Scorecard, horizon_days: int = backtest.DEFAULT_HORIZON_DAYS
) -> BacktestPage:
    """The scorecard's backtest, optimizer suggestion and calibration at the horizon, computed
    now for up to SYNC_OUTCOMES_LIMIT outcomes, else read from the latest finished BacktestRun
    at that horizon. The calibration is the stored one, fitted first when missing or out of
    date (by a worker on a large portfolio: likelihood.renewal_calibration_current)."""
    is_large = RenewalOutcome.objects.count() > learning_selectors.SYNC_OUTCOMES_LIMIT
    horizon_runs = learning_selectors.backtest_runs_at(
        scorecard=scorecard, horizon_days=horizon_days
    )
    run = horizon_runs.filter(status__in=learning_selectors.RUNNING).first()
    if is_large:
        finished = horizon_runs.filter(status=BacktestRun.Status.FINISHED).first()
        report = finished.result if finished else None
    else:
        report = runs.scorecard_backtest_and_suggest(scorecard=scorecard, horizon_days=horizon_days)
    calibration = likelihood.renewal_calibration_current(
        scorecard=scorecard, horizon_days=horizon_days
    )
    return BacktestPage(
        scorecard=scorecard,
        horizon_days=horizon_days,
        report=report,
        run=run,
        is_large=is_large,
        calibration=calibration,
        measures=_measure_rows(report),
        bands=_band_rows(report),
        band_chart=_band_chart(report),
        calibration_chart=_calibration_chart(calibration),
        empty_message=_empty_message(report),
        calibration_message=_calibration_message(calibration),
    )


def _empty_message(report: dict | None) -> str:
    """Why there is no suggestion (or no backtest at all), or "" when there is one."""
    if report is None or report.get("suggested") is not None:
        return ""
    return (
        f"Not enough renewal outcomes yet ({report['n_outcomes']}, need "
        f"{maths.MIN_TRAINING_OUTCOMES} scored before the latest 30 % that are held out, "
        f"with at least {maths.MIN_TRAINING_PER_CLASS} churned and "
        f"{maths.MIN_TRAINING_PER_CLASS} renewed)."
    )


def _calibration_message(calibration: RenewalCalibration | None) -> str:
    if calibration is None or calibration.fit is not None:
        return ""
    return (
        f"Not enough renewal outcomes yet for a renewal likelihood ({calibration.n_outcomes} "
        f"scored, {calibration.n_churned} churned; need {maths.MIN_LIKELIHOOD_OUTCOMES} "
        f"with {maths.MIN_LIKELIHOOD_CHURNED} churned)."
    )


def _measure_rows(report: dict | None) -> list[dict]:
    """Each measure's own AUC (all and held out), with its name and, when there is a
    suggestion, its current and suggested nominal effective weight in %."""
    if report is None:
        return []
    names = _measure_names()
    return [
        {**measure, "name": names.get(measure["key"], measure["key"])}
        for measure in report["measures"]
    ]


def _band_rows(report: dict | None) -> list[dict]:
    """Per band of all outcomes: accounts, churned, churn rate % and lift with the current
    weights, and with the suggested ones when there are."""
    if report is None:
        return []
    current = report["current"]["bands"] if "current" in report else report["bands"]
    suggested = (report.get("suggested") or {}).get("bands") or [None] * len(current)
    return [
        {
            **now,
            "churn_pct": _percent(now["churn_rate"]),
            "suggested": None
            if then is None
            else {**then, "churn_pct": _percent(then["churn_rate"])},
        }
        for now, then in zip(current, suggested, strict=True)
    ]


def _band_chart(report: dict | None) -> dict:
    """Chart.js data: churn rate (%) per band, current and suggested weights."""
    rows = _band_rows(report)
    chart = {
        "labels": [row["label"] for row in rows],
        "datasets": [{"label": "Current weights", "data": [row["churn_pct"] for row in rows]}],
        "lift": [row["lift"] for row in rows],
    }
    if rows and rows[0]["suggested"] is not None:
        chart["datasets"].append(
            {"label": "Suggested weights", "data": [row["suggested"]["churn_pct"] for row in rows]}
        )
    return chart


def _calibration_chart(calibration: RenewalCalibration | None) -> dict | None:
    """Chart.js data: predicted vs observed renewal rate (%) by decile of the held-out part."""
    if calibration is None or not calibration.table:
        return None
    return {
        "labels": [str(row["decile"]) for row in calibration.table],
        "predicted": [_percent(row["predicted"]) for row in calibration.table],
        "observed": [_percent(row["observed"]) for row in calibration.table],
    }


# --- Draft preview -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DraftPreview:
    """A draft's impact: the band matrix as rows, the movers with measure names, and the
    backtest of current vs draft (preview: drafts.scorecard_draft_preview's report)."""

    draft: ScorecardDraft
    preview: dict
    matrix_rows: list[dict]
    movers: list[dict]
    weights: list[dict]


def draft_preview_page(*, draft: ScorecardDraft) -> DraftPreview:
    """drafts.scorecard_draft_preview of the draft, shaped for the page, with the backtest at
    the horizon its suggestion was fitted at (the default for a hand-made draft). Writes
    nothing."""
    horizon_days = (draft.report or {}).get("horizon_days", backtest.DEFAULT_HORIZON_DAYS)
    preview = drafts.scorecard_draft_preview(draft=draft, horizon_days=horizon_days)
    names = _measure_names()
    return DraftPreview(
        draft=draft,
        preview=preview,
        matrix_rows=_matrix_rows(preview),
        movers=[
            {
                **mover,
                "measures": [
                    {**measure, "name": names.get(measure["key"], measure["key"])}
                    for measure in mover["measures"]
                ],
            }
            for mover in preview["movers"]
        ],
        weights=_weight_rows(draft=draft, names=names),
    )


def _matrix_rows(preview: dict) -> list[dict]:
    """One row per current band: its cells (count, ARR) per draft band, in label order."""
    cells = {(cell["from"], cell["to"]): cell for cell in preview["matrix"]}
    return [
        {
            "label": before,
            "cells": [cells[(before, after)] for after in preview["bands"]],
            "accounts": sum(cells[(before, after)]["accounts"] for after in preview["bands"]),
        }
        for before in preview["bands"]
    ]


def _weight_rows(*, draft: ScorecardDraft, names: dict[str, str]) -> list[dict]:
    """The draft's group and measure weights next to those of the scorecard now."""
    now_groups, now_measures = drafts.draft_weights(drafts.scorecard_to_document(draft.scorecard))
    new_groups, new_measures = drafts.draft_weights(draft.definition)
    rows = [
        {"kind": "group", "name": name, "current": now_groups.get(name), "draft": weight}
        for name, weight in new_groups.items()
    ]
    rows += [
        {
            "kind": "measure",
            "name": names.get(key, key),
            "current": now_measures.get(key),
            "draft": weight,
        }
        for key, weight in new_measures.items()
    ]
    return rows
