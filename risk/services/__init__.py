"""Writes that follow the risk rules: evaluation, the lifecycle people work, sponsor measures."""

from risk.services.evaluation import (
    RiskEvaluation,
    risks_evaluate,
    risks_evaluate_for_account,
    risks_evaluate_for_account_ids,
    risks_evaluate_for_run,
)
from risk.services.lifecycle import (
    DomainError,
    RiskTransitionError,
    risk_can_change,
    risk_condition_holds,
    risk_transition,
)
from risk.services.sponsor_measures import sponsor_measures_compute

__all__ = [
    "DomainError",
    "RiskEvaluation",
    "RiskTransitionError",
    "risk_can_change",
    "risk_condition_holds",
    "risk_transition",
    "risks_evaluate",
    "risks_evaluate_for_account",
    "risks_evaluate_for_account_ids",
    "risks_evaluate_for_run",
    "sponsor_measures_compute",
]
