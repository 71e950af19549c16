"""The scorecards app's models, by topic: definition (scorecards and what they are made of),
runs (values, runs, snapshots, current scores, retention) and learning (drafts, backtests,
calibrations)."""

from scorecards.models.definition import (
    Band,
    ExceptionRule,
    Measure,
    MeasureGroup,
    Scorecard,
    ScorecardMeasure,
    ScorecardVersion,
)
from scorecards.models.learning import BacktestRun, RenewalCalibration, ScorecardDraft
from scorecards.models.runs import (
    CurrentScore,
    MeasureValue,
    RetentionPolicy,
    ScoreRun,
    ScoreRunBandMove,
    ScoreRunChunk,
    ScoreSnapshot,
)

__all__ = [
    "BacktestRun",
    "Band",
    "CurrentScore",
    "ExceptionRule",
    "Measure",
    "MeasureGroup",
    "MeasureValue",
    "RenewalCalibration",
    "RetentionPolicy",
    "ScoreRun",
    "ScoreRunBandMove",
    "ScoreRunChunk",
    "ScoreSnapshot",
    "Scorecard",
    "ScorecardDraft",
    "ScorecardMeasure",
    "ScorecardVersion",
]
