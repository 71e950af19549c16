"""Rule 1 (measure score: direct, linear, steps) and the validation of a scorecard's
measures, groups, bands and exception rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from scorecards.engine.columns import (
    ACTION,
    ACTIONS,
    BAND,
    CAP_BAND,
    DIRECT,
    GROUP_ID,
    GROUP_NAME,
    HI,
    HIGHER_IS_BETTER,
    LABEL,
    LINEAR,
    LO,
    MAPPING_TYPE,
    MAPPING_TYPES,
    MEASURE_ID,
    MEASURE_KEY,
    MIN,
    OP,
    OPS,
    OVERRIDE,
    POSITION,
    RAW_VALUE,
    RULE_ID,
    SCORE,
    SCORECARD_ID,
    STEPPED,
    STEPS,
    VALUE,
    WEIGHT,
)


# --- Small shared pieces ------------------------------------------------------------------------
def days(values: Any) -> pd.Series:
    """Dates (``datetime.date`` or YYYY-MM-DD text) as datetime64[ns]. A date pandas cannot
    hold (before 1677 or after 2262, such as a value stored as 0001-01-01) becomes NaT rather
    than an error: callers drop or ignore it, so an odd stored value never breaks a read."""
    return pd.to_datetime(values, errors="coerce", format="ISO8601")


def round_half_up(x: Any, decimals: int = 2) -> np.ndarray:
    """Round like ``Decimal.quantize(ROUND_HALF_UP)``: halves go away from zero. NaN stays NaN.

    Input: a scalar or array-like of floats. Output: a float ndarray of the same shape.
    Binary floats cannot hold most decimals (74.995 is stored as 74.99499999999999744…, so
    ``74.995 * 100`` is 7499.499999999999); snapping the scaled value to 6 decimals first removes
    that noise — far below a cent, far above float error — before the half-up floor.
    """
    arr = np.asarray(x, dtype=float)
    scale = 10.0**decimals
    scaled = np.round(np.abs(arr) * scale, 6)
    # "+ 0.0" turns the -0.0 of a small negative that rounds to zero into 0.0.
    return np.sign(arr) * np.floor(scaled + 0.5) / scale + 0.0


def require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    """Input check: fail early, naming the frame and the missing columns."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing columns: {', '.join(missing)}")


def _is_missing(x: Any) -> bool:
    """None, NaN, NaT and pd.NA all mean 'not set' in frames built from the ORM."""
    if x is None:
        return True
    if isinstance(x, list | tuple | dict | str | np.ndarray):  # containers are values
        return False
    return bool(pd.isna(x))


def as_float(x: Any) -> float:
    """A weight, bound or score as float; NaN when missing or not a number."""
    if _is_missing(x):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def as_list(x: Any) -> list:
    """An assignment list (segments, tiers, lifecycles); None or NaN is the empty list."""
    return [] if _is_missing(x) else list(x)


def _parse_steps(steps: Any) -> tuple[np.ndarray, np.ndarray]:
    """Steps as (thresholds, scores) arrays; ValueError with a readable message if malformed.

    Shared by the mapping (rule 1) and by :func:`validate_scorecard`, so both agree on what a
    valid step list is: non-empty [threshold, score] pairs, thresholds strictly ascending,
    scores within 0–100.
    """
    if _is_missing(steps) or len(steps) == 0:
        raise ValueError("steps are empty")
    try:
        pairs = np.asarray([[float(t), float(s)] for t, s in steps], dtype=float)
    except (TypeError, ValueError):
        raise ValueError("steps must be [threshold, score] pairs") from None
    thresholds, scores = pairs[:, 0], pairs[:, 1]
    if np.isnan(pairs).any():
        raise ValueError("steps must be [threshold, score] pairs of numbers")
    if (np.diff(thresholds) <= 0).any():
        raise ValueError("step thresholds must be strictly ascending")
    if ((scores < 0) | (scores > 100)).any():
        raise ValueError("step scores must be within 0–100")
    return thresholds, scores


def _mapping_problems(mapping_type: Any, lo: Any, hi: Any, steps: Any) -> list[str]:
    """Why a mapping cannot turn raw values into scores (empty list = it can)."""
    if mapping_type not in MAPPING_TYPES:
        return [f"unknown mapping type {mapping_type!r}"]
    if mapping_type == LINEAR:
        if math.isnan(as_float(lo)) or math.isnan(as_float(hi)):
            return ["linear mapping needs both lo and hi"]
        if as_float(lo) == as_float(hi):
            return ["linear mapping needs hi different from lo"]
    if mapping_type == STEPPED:
        try:
            _parse_steps(steps)
        except ValueError as problem:
            return [str(problem)]
    return []


# --- Rule 1: measure score ----------------------------------------------------------------------
def measure_scores_from_raw(
    raw: pd.Series,
    mapping_type: str,
    lo: float | None = None,
    hi: float | None = None,
    higher_is_better: bool | None = True,
    steps: list[list[float]] | None = None,
) -> pd.Series:
    """Rule 1: map one measure's raw values to 0–100 scores.

    Inputs: ``raw`` (float Series, NaN = no value) and the measure's mapping. ``direct`` clips
    to 0–100; ``linear`` is clamp((raw−lo)/(hi−lo), 0, 1)×100, or 100 minus that when
    ``higher_is_better`` is False (None/NaN counts as True); ``steps`` gives the score of the
    last step whose threshold ≤ raw, and the first step's score below the first threshold.
    Output: float Series ``score`` on ``raw``'s index; NaN where raw is NaN.
    Raises ValueError for a mapping :func:`validate_scorecard` would reject.
    """
    problems = _mapping_problems(mapping_type, lo, hi, steps)
    if problems:
        raise ValueError(problems[0])
    values = raw.to_numpy(dtype=float, na_value=np.nan)
    if mapping_type == DIRECT:
        scores = np.clip(values, 0.0, 100.0)
    elif mapping_type == LINEAR:
        lo_f, hi_f = float(lo), float(hi)  # type: ignore[arg-type]
        share = np.clip((values - lo_f) / (hi_f - lo_f), 0.0, 1.0) * 100.0
        is_higher_better = _is_missing(higher_is_better) or bool(higher_is_better)
        scores = share if is_higher_better else 100.0 - share
    else:
        thresholds, step_scores = _parse_steps(steps)
        # side="right" makes a raw value equal to a threshold land on that threshold's step.
        index = np.searchsorted(thresholds, values, side="right") - 1
        scores = np.where(np.isnan(values), np.nan, step_scores[np.clip(index, 0, None)])
    return pd.Series(scores, index=raw.index, name=SCORE, dtype=float)


def map_raw_values(frame: pd.DataFrame) -> pd.Series:
    """Rule 1 for a frame that mixes measures (used by ingestion and by :func:`score_accounts`).

    Input: ``measure_id, raw_value, mapping_type, lo, hi, higher_is_better, steps`` and
    optionally ``scorecard_id`` (a measure may sit in several scorecards; the mapping is read per
    (scorecard_id, measure_id) when the column is there). Output: float Series ``score`` on
    ``frame``'s index. One vectorised call per measure.
    """
    require_columns(
        frame, [MEASURE_ID, RAW_VALUE, MAPPING_TYPE, LO, HI, HIGHER_IS_BETTER, STEPS], "frame"
    )
    keys = [column for column in (SCORECARD_ID, MEASURE_ID) if column in frame.columns]
    scores = np.full(len(frame), np.nan)
    raw = frame[RAW_VALUE]
    for positions in frame.groupby(keys, sort=True).indices.values():
        first = frame.iloc[positions[0]]
        scores[positions] = measure_scores_from_raw(
            raw.iloc[positions],
            first[MAPPING_TYPE],
            first[LO],
            first[HI],
            first[HIGHER_IS_BETTER],
            first[STEPS],
        ).to_numpy()
    return pd.Series(scores, index=frame.index, name=SCORE, dtype=float)


# --- Validation ---------------------------------------------------------------------------------
def validate_scorecard(
    measures: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    bands: pd.DataFrame | None = None,
    exception_rules: pd.DataFrame | None = None,
    scorecard_ids: list[int] | None = None,
) -> dict[int, list[str]]:
    """Find what stops each scorecard from being scored.

    Inputs: the measures and groups frames; optionally bands and exception_rules (then checked
    too) and ``scorecard_ids`` that must exist (a listed id with no measures is a problem).
    Output: ``{scorecard_id: [problem, ...]}`` in scorecard_id order, holding ONLY scorecards
    with at least one problem — ``{}`` means every scorecard is valid. Problems are sentences for
    CS Ops, in a stable order.

    Checked: group or measure weight not > 0; unknown mapping type; linear without lo/hi or with
    hi == lo; steps empty, malformed, not strictly ascending or scored outside 0–100; a measure
    whose group is not in its scorecard; a group with no measures; a scorecard with no measures;
    with bands: a scorecard with no bands; with exception_rules: unknown op or action, a
    cap_band naming a band the scorecard does not have, an override without a 0–100 score.
    """
    require_columns(
        measures,
        [SCORECARD_ID, GROUP_ID, MEASURE_ID, MEASURE_KEY, WEIGHT, MAPPING_TYPE, LO, HI, STEPS],
        "measures",
    )
    require_columns(groups, [SCORECARD_ID, GROUP_ID, GROUP_NAME, WEIGHT, POSITION], "groups")
    problems: dict[int, list[str]] = {}

    def add(scorecard_id: Any, problem: str) -> None:
        problems.setdefault(int(scorecard_id), []).append(problem)

    known = (
        set(groups[SCORECARD_ID].tolist())
        | set(measures[SCORECARD_ID].tolist())
        | set(scorecard_ids or [])
    )
    with_measures = set(measures[SCORECARD_ID].tolist())
    for scorecard_id in sorted(known - with_measures):
        add(scorecard_id, "scorecard has no measures")

    measured_groups = set(zip(measures[SCORECARD_ID], measures[GROUP_ID], strict=True))
    ordered_groups = groups.sort_values([SCORECARD_ID, POSITION, GROUP_ID], kind="stable")
    for group in ordered_groups.itertuples(index=False):
        label = f"group {group.group_name!r}"
        if not as_float(group.weight) > 0:  # "not >" also catches NaN
            add(group.scorecard_id, f"{label}: weight must be positive (is {group.weight})")
        if (group.scorecard_id, group.group_id) not in measured_groups:
            add(group.scorecard_id, f"{label} has no measures")

    group_keys = set(zip(groups[SCORECARD_ID], groups[GROUP_ID], strict=True))
    ordered_measures = measures.sort_values([SCORECARD_ID, GROUP_ID, MEASURE_ID], kind="stable")
    for measure in ordered_measures.itertuples(index=False):
        label = f"measure {measure.measure_key!r}"
        if (measure.scorecard_id, measure.group_id) not in group_keys:
            add(measure.scorecard_id, f"{label}: group {measure.group_id} is not in the scorecard")
        if not as_float(measure.weight) > 0:
            add(measure.scorecard_id, f"{label}: weight must be positive (is {measure.weight})")
        for problem in _mapping_problems(
            measure.mapping_type, measure.lo, measure.hi, measure.steps
        ):
            add(measure.scorecard_id, f"{label}: {problem}")

    band_labels: dict[int, set[str]] = {}
    if bands is not None:
        require_columns(bands, [SCORECARD_ID, LABEL, MIN], "bands")
        for scorecard_id, label in zip(bands[SCORECARD_ID], bands[LABEL], strict=True):
            band_labels.setdefault(int(scorecard_id), set()).add(label)
        for scorecard_id in sorted(known - set(band_labels)):
            add(scorecard_id, "scorecard has no bands")

    if exception_rules is not None:
        require_columns(
            exception_rules, [SCORECARD_ID, RULE_ID, OP, VALUE, ACTION, BAND, SCORE], "rules"
        )
        for rule in exception_rules.sort_values([SCORECARD_ID, RULE_ID]).itertuples(index=False):
            label = f"exception rule {rule.rule_id}"
            if rule.op not in OPS:
                add(rule.scorecard_id, f"{label}: unknown op {rule.op!r}")
            if rule.action not in ACTIONS:
                add(rule.scorecard_id, f"{label}: unknown action {rule.action!r}")
            is_known_band = rule.band in band_labels.get(int(rule.scorecard_id), set())
            if rule.action == CAP_BAND and bands is not None and not is_known_band:
                add(rule.scorecard_id, f"{label}: cap_band names unknown band {rule.band!r}")
            if math.isnan(as_float(rule.value)):
                add(rule.scorecard_id, f"{label}: needs a value to compare with")
            if rule.action == OVERRIDE and not 0 <= as_float(rule.score) <= 100:
                add(rule.scorecard_id, f"{label}: override needs a score within 0–100")
    return {scorecard_id: problems[scorecard_id] for scorecard_id in sorted(problems)}
