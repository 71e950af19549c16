"""Renewal likelihood (PRODUCT.md, learning from renewals): a calibrated probability of
renewal for a scored account, fitted on the backtest of its scorecard's current version and
stored per version, horizon and set of outcomes. Never shown with too few outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max

from accounts.models import RenewalOutcome
from scorecards import engine
from scorecards.learning import maths
from scorecards.learning.backtest import (
    DEFAULT_HORIZON_DAYS,
    backtest_sample_load,
    backtest_score,
    scorecard_definition,
)
from scorecards.models import RenewalCalibration, Scorecard

# Above this many renewal outcomes a calibration is fitted by a worker rather than in the request
# that finds it missing or out of date.
SYNC_FIT_OUTCOMES_LIMIT = 5_000
CALIBRATION_FIT_PENDING_SECONDS = 15 * 60


def _outcomes_signature() -> tuple[int, int | None]:
    """How many outcomes exist and the newest id: a calibration fitted on other outcomes is
    out of date. (An outcome edited in place is picked up by the next version or refit.)"""
    totals = RenewalOutcome.objects.aggregate(total=Count("id"), last=Max("id"))
    return totals["total"], totals["last"]


@transaction.atomic
def renewal_calibration_fit(
    *, scorecard: Scorecard, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> RenewalCalibration:
    """Fit score → renewal probability for the scorecard's current version on its backtest,
    and store it (replacing the version's previous fit). Too few outcomes store a row without
    a fit and with the reason, so that nothing is shown and nothing is refitted in vain."""
    total, last_id = _outcomes_signature()
    definition = scorecard_definition(scorecard=scorecard)
    sample = backtest_sample_load(scorecard=scorecard, horizon_days=horizon_days)
    scored = backtest_score(sample=sample, definition=definition).outcomes
    scored = scored[scored[maths.OVERALL].notna()]
    report = maths.calibration_report(
        scored[maths.OVERALL].to_numpy(),
        scored[maths.IS_CHURNED].to_numpy(),
        scored[maths.IS_HOLDOUT].to_numpy(),
    )
    calibration, _ = RenewalCalibration.objects.update_or_create(
        scorecard=scorecard,
        scorecard_version=scorecard.version,
        horizon_days=horizon_days,
        defaults={
            "outcomes_total": total,
            "outcomes_last_id": last_id,
            "n_outcomes": report["n_outcomes"],
            "n_churned": report["n_churned"],
            "fit": report["fit"],
            "table": report["table_holdout"],
            "brier_holdout": report["brier_holdout"],
            "message": report["message"] or "",
        },
    )
    return calibration


def renewal_calibration_current(
    *, scorecard: Scorecard, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> RenewalCalibration | None:
    """The stored calibration of the scorecard's current version, fitted first when there is
    none yet or the renewal outcomes changed since (see renewal_calibration_fit).

    Above SYNC_FIT_OUTCOMES_LIMIT outcomes the fit is handed to a worker instead, so that an
    account page or a score request never waits for a backtest; the stored fit (None before
    the first) serves until the new one lands."""
    calibration = RenewalCalibration.objects.filter(
        scorecard=scorecard, scorecard_version=scorecard.version, horizon_days=horizon_days
    ).first()
    total, last_id = _outcomes_signature()
    if calibration is not None and (
        calibration.outcomes_total,
        calibration.outcomes_last_id,
    ) == (total, last_id):
        return calibration
    if total <= SYNC_FIT_OUTCOMES_LIMIT:
        return renewal_calibration_fit(scorecard=scorecard, horizon_days=horizon_days)
    _renewal_calibration_fit_enqueue(
        scorecard=scorecard, horizon_days=horizon_days, outcomes=(total, last_id)
    )
    return calibration


def _renewal_calibration_fit_enqueue(
    *, scorecard: Scorecard, horizon_days: int, outcomes: tuple[int, int | None]
) -> None:
    """Ask a worker for the fit once per version, horizon and set of outcomes, however many
    requests find it missing meanwhile (the cache key expires, so a lost task is asked again)."""
    from scorecards.learning import tasks as learning_tasks

    total, last_id = outcomes
    key = f"calibration-fit:{scorecard.pk}:{scorecard.version}:{horizon_days}:{total}:{last_id}"
    if cache.add(key, True, timeout=CALIBRATION_FIT_PENDING_SECONDS):
        scorecard_id = scorecard.pk
        transaction.on_commit(
            lambda: learning_tasks.renewal_calibration_fit.delay(scorecard_id, horizon_days)
        )


@dataclass(frozen=True)
class RenewalLikelihood:
    """A calibrated renewal probability (0–1, 4 decimals) and what it was calibrated on."""

    probability: float
    n_outcomes: int
    n_churned: int

    @property
    def percent(self) -> int:
        return int(engine.round_half_up(self.probability * 100, 0))


def renewal_likelihood_of(
    *, scorecard: Scorecard, overall: float | None
) -> RenewalLikelihood | None:
    """The renewal likelihood of an account with this overall score on this scorecard, with the
    number of scored outcomes its calibration was fitted on; None when not scored or when there
    are too few outcomes (fewer than 50 scored, or fewer than 10 churned)."""
    if overall is None or overall != overall:
        return None
    return renewal_likelihood_under(
        calibration=renewal_calibration_current(scorecard=scorecard), overall=overall
    )


def renewal_likelihood_under(
    *, calibration: RenewalCalibration | None, overall: float | None
) -> RenewalLikelihood | None:
    """`renewal_likelihood_of` under a calibration already at hand (a page keeps its
    scorecard's); None without a fit or a score."""
    if calibration is None or calibration.fit is None or overall is None or overall != overall:
        return None
    probability = maths.calibration_predict(calibration.fit, np.array([float(overall)]))[0]
    return RenewalLikelihood(
        probability=float(engine.round_half_up(probability, 4)),
        n_outcomes=calibration.n_outcomes,
        n_churned=calibration.n_churned,
    )


def renewal_likelihood_for(*, scorecard: Scorecard, overall: float | None) -> float | None:
    """The calibrated probability (0–1, 4 decimals) that an account with this overall score on
    this scorecard renews; None when not scored or when there are too few outcomes (fewer than
    50 scored, or fewer than 10 churned)."""
    likelihood = renewal_likelihood_of(scorecard=scorecard, overall=overall)
    return None if likelihood is None else likelihood.probability


def renewal_likelihood_fits(*, scorecard_ids: set[int]) -> dict[int, dict | None]:
    """The current calibration fit of each scorecard (None where too few outcomes exist, so
    that no likelihood is shown), for pages that show many accounts' likelihoods: one fit
    per scorecard, however many accounts."""
    fits: dict[int, dict | None] = {}
    for scorecard in Scorecard.objects.filter(pk__in=scorecard_ids):
        calibration = renewal_calibration_current(scorecard=scorecard)
        fits[scorecard.pk] = calibration.fit if calibration is not None else None
    return fits


def renewal_likelihood_from_fit(fit: dict | None, overall: float | None) -> float | None:
    """The renewal probability (0–1, 4 decimals) of a score under a fit from
    `renewal_likelihood_fits`; None without a fit or a score."""
    if fit is None or overall is None or overall != overall:
        return None
    probability = maths.calibration_predict(fit, np.array([float(overall)]))[0]
    return float(engine.round_half_up(probability, 4))
