"""The pure scoring engine: PRODUCT.md "Scoring rules (normative)", one rule per function.

DataFrames in, new DataFrames out. No Django, no I/O and no clock: the caller passes every frame
and the scoring date ``as_of``. Inputs are never mutated. Every sort is explicit and every tie has
a documented winner, so the same inputs always give the same output.

Input frames (ids are ints; extra columns are ignored):

- values: ``account_id, measure_id, raw_value, as_of, value_id`` — the full value history.
- measures: ``scorecard_id, group_id, measure_id, measure_key, weight, mapping_type, lo, hi,
  higher_is_better, steps, max_age_days`` and optionally ``position`` (order inside the group).
- groups: ``scorecard_id, group_id, group_name, weight, position``.
- scorecards: ``scorecard_id, min_coverage``.
- bands: ``scorecard_id, label, min``.
- exception_rules: ``scorecard_id, rule_id, measure_id, op, value, action, band, score, reason``.
- assignments: ``account_id, scorecard_id``.

"Scorecard order" is group ``position``, ``group_id``, then measure ``position`` (when the
measures frame has one) and ``measure_id``.

Output frames of :func:`score_accounts` (see :class:`ScoringResult`):

- accounts (``ACCOUNT_COLUMNS``): ``account_id, scorecard_id, computed, overall, band,
  coverage, is_scored, missing_measures, exceptions, biggest_lever_key, biggest_lever_gain,
  error``.
- groups (``GROUP_COLUMNS``): ``account_id, group_id, group_name, weight, score,
  effective_weight``.
- measures (``MEASURE_COLUMNS``): ``account_id, measure_id, measure_key, group_id, raw_value,
  value_as_of, score, is_stale, is_present, weight, effective_weight, contribution``.

Rounding: stored scores use ROUND_HALF_UP at two decimals (:func:`round_half_up`); measure
scores, group scores and the overall score are computed from unrounded values and rounded
only for output. Coverage is stored to 4 decimals, effective weights to 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

# --- Column names -------------------------------------------------------------------------------
ACCOUNT_ID = "account_id"
SCORECARD_ID = "scorecard_id"
GROUP_ID = "group_id"
MEASURE_ID = "measure_id"
MEASURE_KEY = "measure_key"
VALUE_ID = "value_id"
RAW_VALUE = "raw_value"
AS_OF = "as_of"
WEIGHT = "weight"
MAPPING_TYPE = "mapping_type"
LO = "lo"
HI = "hi"
HIGHER_IS_BETTER = "higher_is_better"
STEPS = "steps"
MAX_AGE_DAYS = "max_age_days"
GROUP_NAME = "group_name"
POSITION = "position"
MIN_COVERAGE = "min_coverage"
LABEL = "label"
MIN = "min"
RULE_ID = "rule_id"
OP = "op"
VALUE = "value"
ACTION = "action"
BAND = "band"
SCORE = "score"
REASON = "reason"
SEGMENT = "segment"
TIER = "tier"
LIFECYCLE = "lifecycle"
PRIORITY = "priority"
SEGMENTS = "segments"
TIERS = "tiers"
LIFECYCLES = "lifecycles"
IS_DEFAULT = "is_default"
COMPUTED = "computed"
OVERALL = "overall"
COVERAGE = "coverage"
IS_SCORED = "is_scored"
MISSING_MEASURES = "missing_measures"
EXCEPTIONS = "exceptions"
BIGGEST_LEVER_KEY = "biggest_lever_key"
BIGGEST_LEVER_GAIN = "biggest_lever_gain"
ERROR = "error"
EFFECTIVE_WEIGHT = "effective_weight"
VALUE_AS_OF = "value_as_of"
IS_STALE = "is_stale"
IS_PRESENT = "is_present"
CONTRIBUTION = "contribution"
CONTRIBUTION_A = "contribution_a"
CONTRIBUTION_B = "contribution_b"
CHANGE = "change"

ACCOUNT_COLUMNS = [
    ACCOUNT_ID,
    SCORECARD_ID,
    COMPUTED,
    OVERALL,
    BAND,
    COVERAGE,
    IS_SCORED,
    MISSING_MEASURES,
    EXCEPTIONS,
    BIGGEST_LEVER_KEY,
    BIGGEST_LEVER_GAIN,
    ERROR,
]
GROUP_COLUMNS = [ACCOUNT_ID, GROUP_ID, GROUP_NAME, WEIGHT, SCORE, EFFECTIVE_WEIGHT]
MEASURE_COLUMNS = [
    ACCOUNT_ID,
    MEASURE_ID,
    MEASURE_KEY,
    GROUP_ID,
    RAW_VALUE,
    VALUE_AS_OF,
    SCORE,
    IS_STALE,
    IS_PRESENT,
    WEIGHT,
    EFFECTIVE_WEIGHT,
    CONTRIBUTION,
]

# --- Vocabulary ---------------------------------------------------------------------------------
NOT_SCORED = "Not scored"
DIRECT, LINEAR, STEPPED = "direct", "linear", "steps"
MAPPING_TYPES = (DIRECT, LINEAR, STEPPED)
FLAG, CAP_BAND, OVERRIDE = "flag", "cap_band", "override"
ACTIONS = (FLAG, CAP_BAND, OVERRIDE)
OPS = ("<", "<=", ">", ">=", "==")
UP, DOWN, FLAT = "up", "down", "flat"

_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min  # how NaT looks as int64 nanoseconds


@dataclass(frozen=True)
class ScoringResult:
    """What :func:`score_accounts` returns.

    accounts: one row per assigned account, columns ``ACCOUNT_COLUMNS``.
    groups: one row per (scored-or-not account, scorecard group), columns ``GROUP_COLUMNS``.
    measures: one row per (account, scorecard measure), missing ones included,
    columns ``MEASURE_COLUMNS``. Accounts whose scorecard is invalid have no group or measure rows.
    """

    accounts: pd.DataFrame
    groups: pd.DataFrame
    measures: pd.DataFrame


# --- Small shared pieces ------------------------------------------------------------------------
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


def _require_columns(frame: pd.DataFrame, columns: list[str], name: str) -> None:
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


def _as_float(x: Any) -> float:
    """A weight, bound or score as float; NaN when missing or not a number."""
    if _is_missing(x):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _as_list(x: Any) -> list:
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
        if math.isnan(_as_float(lo)) or math.isnan(_as_float(hi)):
            return ["linear mapping needs both lo and hi"]
        if _as_float(lo) == _as_float(hi):
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
    _require_columns(
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
    _require_columns(
        measures,
        [SCORECARD_ID, GROUP_ID, MEASURE_ID, MEASURE_KEY, WEIGHT, MAPPING_TYPE, LO, HI, STEPS],
        "measures",
    )
    _require_columns(groups, [SCORECARD_ID, GROUP_ID, GROUP_NAME, WEIGHT, POSITION], "groups")
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
        if not _as_float(group.weight) > 0:  # "not >" also catches NaN
            add(group.scorecard_id, f"{label}: weight must be positive (is {group.weight})")
        if (group.scorecard_id, group.group_id) not in measured_groups:
            add(group.scorecard_id, f"{label} has no measures")

    group_keys = set(zip(groups[SCORECARD_ID], groups[GROUP_ID], strict=True))
    ordered_measures = measures.sort_values([SCORECARD_ID, GROUP_ID, MEASURE_ID], kind="stable")
    for measure in ordered_measures.itertuples(index=False):
        label = f"measure {measure.measure_key!r}"
        if (measure.scorecard_id, measure.group_id) not in group_keys:
            add(measure.scorecard_id, f"{label}: group {measure.group_id} is not in the scorecard")
        if not _as_float(measure.weight) > 0:
            add(measure.scorecard_id, f"{label}: weight must be positive (is {measure.weight})")
        for problem in _mapping_problems(
            measure.mapping_type, measure.lo, measure.hi, measure.steps
        ):
            add(measure.scorecard_id, f"{label}: {problem}")

    band_labels: dict[int, set[str]] = {}
    if bands is not None:
        _require_columns(bands, [SCORECARD_ID, LABEL, MIN], "bands")
        for scorecard_id, label in zip(bands[SCORECARD_ID], bands[LABEL], strict=True):
            band_labels.setdefault(int(scorecard_id), set()).add(label)
        for scorecard_id in sorted(known - set(band_labels)):
            add(scorecard_id, "scorecard has no bands")

    if exception_rules is not None:
        _require_columns(
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
            if math.isnan(_as_float(rule.value)):
                add(rule.scorecard_id, f"{label}: needs a value to compare with")
            if rule.action == OVERRIDE and not 0 <= _as_float(rule.score) <= 100:
                add(rule.scorecard_id, f"{label}: override needs a score within 0–100")
    return {scorecard_id: problems[scorecard_id] for scorecard_id in sorted(problems)}


# --- Rule 2: which value counts -----------------------------------------------------------------
def latest_values(values: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Rule 2: the latest value per (account, measure) with as_of ≤ the scoring date.

    Input: ``account_id, measure_id, raw_value, as_of, value_id``. Values dated after ``as_of``
    and values without a raw number are ignored; on equal as_of the higher value_id wins.
    Output: ``account_id, measure_id, raw_value, as_of, value_id`` sorted by account_id,
    measure_id. Staleness is judged by :func:`score_accounts`, which knows each max age.

    History is large (one row per account, measure and day), so instead of sorting it this
    packs (day, value_id) into one int64 whose maximum per (account, measure) marks the winning
    row, found with ``np.maximum.at``; only the winners get sorted. When ids are too wide to
    pack, it falls back to one lexsort of the whole history.
    """
    _require_columns(values, [ACCOUNT_ID, MEASURE_ID, RAW_VALUE, AS_OF, VALUE_ID], "values")
    columns = [ACCOUNT_ID, MEASURE_ID, RAW_VALUE, AS_OF, VALUE_ID]
    # "< next midnight" rather than "<= D" keeps a value stamped during day D (a time part).
    cutoff = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).as_unit("ns").value
    when = _nanoseconds(values[AS_OF])
    raw = values[RAW_VALUE].to_numpy(dtype=float, na_value=np.nan)
    is_kept = (when < cutoff) & (when != _NAT) & ~np.isnan(raw)
    if not is_kept.any():
        return _take_rows(values, np.zeros(0, dtype=np.int64), columns)
    # Whole columns rather than the kept rows only: compacting 30M rows costs more than it saves.
    account = values[ACCOUNT_ID].to_numpy()
    measure = values[MEASURE_ID].to_numpy()
    value_id = values[VALUE_ID].to_numpy().astype(np.int64, copy=False)
    day = when // _DAY_NS
    kept_day = day[is_kept]
    day_low, day_high = int(kept_day.min()), int(kept_day.max())
    # Over every row, not just the kept ones: a wider range is still correct, and cheaper.
    id_low, id_high = int(value_id.min()), int(value_id.max())
    id_bits = (id_high - id_low).bit_length()

    if (day_high - day_low).bit_length() + id_bits <= 62:
        pair, n_pairs = _pair_codes(account, measure)
        recency = day - day_low
        recency <<= id_bits
        recency |= value_id - id_low
        np.copyto(recency, -1, where=~is_kept)  # a dropped row never beats a kept one
        best = np.full(n_pairs, -1, dtype=np.int64)
        np.maximum.at(best, pair, recency)
        winners = np.flatnonzero((recency == best[pair]) & is_kept)
        winners = winners[np.lexsort((measure[winners], account[winners]))]
        # value_id should be unique; if one repeats on a pair's latest day, keep one row.
        is_first = np.ones(len(winners), dtype=bool)
        is_first[1:] = (account[winners[1:]] != account[winners[:-1]]) | (
            measure[winners[1:]] != measure[winners[:-1]]
        )
        winners = winners[is_first]
    else:
        kept = np.flatnonzero(is_kept)
        order = kept[np.lexsort((value_id[kept], day[kept], measure[kept], account[kept]))]
        is_last = np.ones(len(order), dtype=bool)
        is_last[:-1] = (account[order[1:]] != account[order[:-1]]) | (
            measure[order[1:]] != measure[order[:-1]]
        )
        winners = order[is_last]
    return _take_rows(values, winners, columns)


def _take_rows(frame: pd.DataFrame, positions: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """Rows by position, only ``columns``, column by column: ``frame[columns]`` would copy the
    whole history first, and a 2-D ``iloc`` is several times slower on a large frame."""
    return pd.DataFrame({column: frame[column].to_numpy()[positions] for column in columns})


def _nanoseconds(when: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds (NaT = int64 min), without copying datetime64[ns] data."""
    if not pd.api.types.is_datetime64_any_dtype(when):
        when = pd.to_datetime(when)
    return when.to_numpy().astype("datetime64[ns]", copy=False).view(np.int64)


def _pair_codes(account: np.ndarray, measure: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense int code per (account, measure) pair, and the number of codes.

    Database ids are mostly dense, so offsets from the smallest id give a small code space at
    the cost of one subtraction; sparse ids fall back to hashing (pd.factorize).
    """
    account_low, measure_low = int(account.min()), int(measure.min())
    account_span = int(account.max()) - account_low + 1
    measure_span = int(measure.max()) - measure_low + 1
    if account_span * measure_span <= 4 * len(account) + 1024:
        code = account.astype(np.int64)  # a fresh array, so the in-place steps below are safe
        code -= account_low
        code *= measure_span
        code += measure
        code -= measure_low
        return code, account_span * measure_span
    account_code, accounts = pd.factorize(account)
    measure_code, measures = pd.factorize(measure)
    code = account_code.astype(np.int64) * len(measures) + measure_code
    return code, len(accounts) * len(measures)


# --- Scorecard layout ---------------------------------------------------------------------------
def _scorecard_layout(
    measures: pd.DataFrame, groups: pd.DataFrame, scorecard_ids: list[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The groups and measures of valid scorecards, each in scorecard order.

    Output: (group_rows, measure_rows). group_rows adds ``_share`` (W_g / ΣW of the scorecard)
    and ``_local`` (index of the group inside its scorecard); measure_rows adds
    ``_group_position``, ``_share``, ``_group_local`` and ``_nominal`` (the nominal effective
    weight of rule 5: W_g/ΣW_all × w_m/Σw_all_in_group). Weights become floats.
    """
    group_rows = groups[groups[SCORECARD_ID].isin(scorecard_ids)]
    group_rows = group_rows.sort_values([SCORECARD_ID, POSITION, GROUP_ID], kind="stable")
    group_rows = group_rows.reset_index(drop=True)
    group_weight = group_rows[WEIGHT].astype(float)
    by_scorecard = group_weight.groupby(group_rows[SCORECARD_ID])
    group_rows = group_rows.assign(
        **{WEIGHT: group_weight},
        _share=group_weight / by_scorecard.transform("sum"),
        _local=group_rows.groupby(SCORECARD_ID).cumcount(),
    )

    group_columns = group_rows[[SCORECARD_ID, GROUP_ID, POSITION, "_share", "_local"]]
    group_columns = group_columns.rename(
        columns={POSITION: "_group_position", "_local": "_group_local"}
    )
    measure_rows = measures[measures[SCORECARD_ID].isin(scorecard_ids)].merge(
        group_columns, on=[SCORECARD_ID, GROUP_ID], how="inner", validate="many_to_one"
    )
    order = [SCORECARD_ID, "_group_position", GROUP_ID]
    order += [POSITION] if POSITION in measure_rows.columns else []
    measure_rows = measure_rows.sort_values([*order, MEASURE_ID], kind="stable")
    measure_rows = measure_rows.reset_index(drop=True)
    weight = measure_rows[WEIGHT].astype(float)
    in_group = weight.groupby([measure_rows[SCORECARD_ID], measure_rows[GROUP_ID]])
    measure_rows = measure_rows.assign(
        **{WEIGHT: weight}, _nominal=measure_rows["_share"] * weight / in_group.transform("sum")
    )
    return group_rows, measure_rows


def _repeat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate arange(start, start + count) for each pair, without a Python loop."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + np.arange(total) - offsets


def _first_rows(sorted_codes: np.ndarray) -> np.ndarray:
    """Position of each element's first occurrence in an already sorted code array."""
    return np.searchsorted(sorted_codes, sorted_codes, side="left")


def _lists_per_account(items: np.ndarray, account_code: np.ndarray, n_accounts: int) -> list:
    """One list per account (empty when it has none), keeping the items' order.

    ``account_code`` must be sorted. A list column needs one Python object per account; slicing
    one flat list (map over slices, no per-account pandas or numpy call) keeps that cheap.
    """
    bounds = np.searchsorted(account_code, np.arange(n_accounts + 1))
    flat = items.tolist()
    return list(map(flat.__getitem__, map(slice, bounds[:-1].tolist(), bounds[1:].tolist())))


# --- Rules 3–6: group score, overall score, coverage, contribution ------------------------------
def _group_scores(
    weight: np.ndarray, score: np.ndarray, is_present: np.ndarray, group_code: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 3: Σ(w·s)/Σw over present measures per group row; NaN when none is present.

    Output: (group score, Σw of the present measures) per group row.
    """
    present_weight = np.bincount(group_code, weights=weight * is_present, minlength=n)
    weighted = np.bincount(
        group_code, weights=np.where(is_present, weight * score, 0.0), minlength=n
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present_weight > 0, weighted / present_weight, np.nan), present_weight


def _overall_scores(
    group_weight: np.ndarray, group_score: np.ndarray, account_code: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 4: Σ(W·S)/ΣW over present groups per account; NaN (never 0) when none is present.

    Output: (unrounded overall score, ΣW of the present groups) per account.
    """
    is_present = ~np.isnan(group_score)
    present_weight = np.bincount(account_code, weights=group_weight * is_present, minlength=n)
    weighted = np.bincount(
        account_code, weights=np.where(is_present, group_weight * group_score, 0.0), minlength=n
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present_weight > 0, weighted / present_weight, np.nan), present_weight


def _coverage(
    nominal_weight: np.ndarray, is_present: np.ndarray, account_code: np.ndarray, n: int
) -> np.ndarray:
    """Rule 5: Σ nominal effective weight of the present measures, rounded to 4 decimals."""
    covered = np.bincount(account_code, weights=nominal_weight * is_present, minlength=n)
    return round_half_up(covered, 4)


def _order_within_accounts(
    account_code: np.ndarray, amount: np.ndarray, tie_rank: np.ndarray
) -> np.ndarray:
    """Row order: account ascending, then ``amount`` (non-negative ints) descending, then
    ``tie_rank`` ascending.

    Packs the three keys into one int64 for a single argsort when they fit — over ten times
    faster than np.lexsort on a million rows — and falls back to lexsort when they do not.
    """
    if len(account_code) == 0:
        return np.zeros(0, dtype=np.int64)
    account_span = int(account_code.max()) + 1
    amount_span = int(amount.max()) + 1
    tie_span = int(tie_rank.max()) + 1
    if account_span * amount_span * tie_span < 2**62:
        packed = account_code.astype(np.int64) * amount_span + (amount_span - 1 - amount)
        packed = packed * tie_span + tie_rank
        return np.argsort(packed, kind="stable")
    return np.lexsort((tie_rank, -amount, account_code))


def _largest_remainder_cents(
    exact: np.ndarray, account_code: np.ndarray, total_cents: np.ndarray, tie_rank: np.ndarray
) -> np.ndarray:
    """Rule 6 rounding: integer cents per row that add up to ``total_cents`` per account.

    Every row gets floor(exact·100); the cents still missing go one each to the rows with the
    largest remainder, ties to the lower ``tie_rank`` (measure_key ascending). Remainders are
    snapped to millionths of a cent so that mathematically equal remainders tie instead of
    differing in the last float bit. Rounding the total half-up keeps the shortfall within
    0..rows, so no row moves by more than one cent.
    """
    cents = np.round(exact * 100.0, 6)
    floor = np.floor(cents)
    remainder = np.rint((cents - floor) * 1e6).astype(np.int64)
    shortfall = total_cents - np.bincount(account_code, weights=floor, minlength=len(total_cents))
    order = _order_within_accounts(account_code, remainder, tie_rank)
    sorted_code = account_code[order]
    rank = np.arange(len(order)) - _first_rows(sorted_code)
    floor[order[rank < shortfall[sorted_code]]] += 1.0
    return floor.astype(np.int64)


def _biggest_lever(
    gap: np.ndarray, account_code: np.ndarray, tie_rank: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 6: per account, the row with the largest effective weight × (100 − score).

    Input rows are the present measures of scored accounts. Ties go to the lower ``tie_rank``
    (measure_key ascending); gaps are snapped to 6 decimals so equal gaps really tie.
    Output: (row index or −1, gain rounded to 2 decimals or NaN) per account. A lever worth
    0.00 is no lever: every present measure is (practically) at 100.
    """
    row = np.full(n, -1, dtype=np.int64)
    gain = np.full(n, np.nan)
    snapped = np.rint(gap * 1e6).astype(np.int64)
    order = _order_within_accounts(account_code, snapped, tie_rank)
    first = order[np.unique(account_code[order], return_index=True)[1]]
    rounded = round_half_up(gap[first])
    worth_it = rounded > 0
    row[account_code[first[worth_it]]] = first[worth_it]
    gain[account_code[first[worth_it]]] = rounded[worth_it]
    return row, gain


# --- Rule 7: bands ------------------------------------------------------------------------------
def _band_ranks(
    score: np.ndarray, scorecard_code: np.ndarray, band_mins: list[np.ndarray]
) -> np.ndarray:
    """Rule 7: index of the last band (ordered by min) whose min ≤ score, per account.

    A score below the lowest min gets the lowest band (0); NaN gets −1. One searchsorted per
    scorecard. ``score`` must already be the stored, 2-decimal value.
    """
    ranks = np.full(len(score), -1, dtype=np.int64)
    for code, mins in enumerate(band_mins):
        rows = (scorecard_code == code) & ~np.isnan(score)
        found = np.searchsorted(mins, score[rows], side="right") - 1
        ranks[rows] = np.clip(found, 0, None)
    return ranks


# --- Rule 8: exceptions -------------------------------------------------------------------------
def _exception_fires(score: np.ndarray, op: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Whether ``score op value`` holds, row by row (one vectorised comparison per operator)."""
    comparisons = {
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
        "==": np.equal,
    }
    fires = np.zeros(len(score), dtype=bool)
    for symbol, compare in comparisons.items():
        rows = op == symbol
        fires[rows] = compare(score[rows], value[rows])
    return fires


# --- The whole run ------------------------------------------------------------------------------
def score_accounts(
    *,
    values: pd.DataFrame,
    measures: pd.DataFrame,
    groups: pd.DataFrame,
    scorecards: pd.DataFrame,
    bands: pd.DataFrame,
    exception_rules: pd.DataFrame,
    assignments: pd.DataFrame,
    as_of: date,
) -> ScoringResult:
    """Score every assigned account on ``as_of`` (rules 1–8). Pure: no input is modified.

    Inputs: the frames described in the module docstring; ``assignments`` holds one row per
    account. Output: a :class:`ScoringResult` (accounts, groups, measures), rows sorted by
    account_id then scorecard order.

    - An account whose scorecard fails :func:`validate_scorecard` gets ``error`` text, band
      "Not scored", NaN scores and coverage, and no group or measure rows; the others are scored.
    - A scorecard missing from ``scorecards`` (or with NaN min_coverage) has min_coverage 0.
    - Not scored (no group present, or coverage < min_coverage — compared on the stored 4-decimal
      coverage): computed/overall NaN, band "Not scored", no biggest lever; group and measure
      scores, coverage and missing_measures are still reported, but every effective weight and
      contribution is 0 because there is no score to contribute to. Exceptions are still
      evaluated and listed, and change nothing.
    - Contributions (2 decimals, largest remainder) add up exactly to ``computed``; after an
      override ``overall`` differs from their sum.
    - Exceptions compare the measure's stored (2-decimal) score with the rule's value.
    """
    _require_columns(scorecards, [SCORECARD_ID, MIN_COVERAGE], "scorecards")
    _require_columns(assignments, [ACCOUNT_ID, SCORECARD_ID], "assignments")
    _require_columns(
        exception_rules,
        [SCORECARD_ID, RULE_ID, MEASURE_ID, OP, VALUE, ACTION, BAND, SCORE, REASON],
        "exception_rules",
    )
    _require_columns(measures, [MAX_AGE_DAYS, HIGHER_IS_BETTER], "measures")
    if assignments[ACCOUNT_ID].duplicated().any():
        raise ValueError("assignments must hold one row per account")

    assigned = assignments[[ACCOUNT_ID, SCORECARD_ID]].sort_values(ACCOUNT_ID, kind="stable")
    assigned = assigned.reset_index(drop=True)
    problems = validate_scorecard(
        measures,
        groups,
        bands=bands,
        exception_rules=exception_rules,
        scorecard_ids=sorted(set(assigned[SCORECARD_ID].tolist())),
    )
    is_valid = ~assigned[SCORECARD_ID].isin(list(problems))
    valid = assigned[is_valid].reset_index(drop=True)
    rejected = _rejected_accounts(assigned[~is_valid], problems)

    scorecard_ids = sorted(set(valid[SCORECARD_ID].tolist()))
    group_rows, measure_rows = _scorecard_layout(measures, groups, scorecard_ids)
    scored = _score_valid(
        values=values,
        group_rows=group_rows,
        measure_rows=measure_rows,
        scorecards=scorecards,
        bands=bands,
        exception_rules=exception_rules,
        accounts=valid,
        scorecard_ids=scorecard_ids,
        as_of=as_of,
    )
    # concat inspects object columns cell by cell, so skip it in the common all-valid case.
    accounts = pd.concat([scored.accounts, rejected]) if len(rejected) else scored.accounts
    accounts = accounts.sort_values(ACCOUNT_ID, kind="stable").reset_index(drop=True)
    accounts = accounts.astype({ACCOUNT_ID: np.int64, SCORECARD_ID: np.int64, IS_SCORED: bool})
    return ScoringResult(accounts=accounts, groups=scored.groups, measures=scored.measures)


def _rejected_accounts(rejected: pd.DataFrame, problems: dict[int, list[str]]) -> pd.DataFrame:
    """Account rows for accounts whose scorecard is invalid: error text, nothing scored."""
    n = len(rejected)
    errors = {
        scorecard_id: f"Scorecard {scorecard_id} is invalid: " + "; ".join(found)
        for scorecard_id, found in problems.items()
    }
    return pd.DataFrame(
        {
            ACCOUNT_ID: rejected[ACCOUNT_ID].to_numpy(),
            SCORECARD_ID: rejected[SCORECARD_ID].to_numpy(),
            COMPUTED: np.full(n, np.nan),
            OVERALL: np.full(n, np.nan),
            BAND: np.full(n, NOT_SCORED, dtype=object),
            COVERAGE: np.full(n, np.nan),
            IS_SCORED: np.zeros(n, dtype=bool),
            MISSING_MEASURES: np.empty((n, 0)).tolist(),  # n distinct empty lists
            EXCEPTIONS: np.empty((n, 0)).tolist(),
            BIGGEST_LEVER_KEY: np.full(n, None, dtype=object),
            BIGGEST_LEVER_GAIN: np.full(n, np.nan),
            ERROR: rejected[SCORECARD_ID].map(errors).to_numpy(dtype=object),
        },
        columns=ACCOUNT_COLUMNS,
    )


@dataclass(frozen=True)
class _Grid:
    """Where each (account, measure) row and (account, group) row comes from.

    measure_row / group_row: index into measure_rows / group_rows; account_of_m / account_of_g:
    account code (position in the sorted accounts); group_of_m: the (account, group) row each
    (account, measure) row belongs to. Rows are in account order, then scorecard order.
    """

    measure_row: np.ndarray
    group_row: np.ndarray
    account_of_m: np.ndarray
    account_of_g: np.ndarray
    group_of_m: np.ndarray


def _grid(
    scorecard_code: np.ndarray,
    measure_rows: pd.DataFrame,
    group_rows: pd.DataFrame,
    scorecard_index: pd.Index,
) -> _Grid:
    """Repeat each account's scorecard rows — vectorised, no loop per account.

    measure_rows and group_rows are sorted by scorecard, so each scorecard owns one contiguous
    block of rows: an account takes the block of its scorecard.
    """
    measure_count = measure_rows.groupby(SCORECARD_ID).size().reindex(scorecard_index)
    measure_count = measure_count.to_numpy(dtype=np.int64)
    group_count = group_rows.groupby(SCORECARD_ID).size().reindex(scorecard_index)
    group_count = group_count.to_numpy(dtype=np.int64)
    measures_per_account = measure_count[scorecard_code]
    groups_per_account = group_count[scorecard_code]
    measure_start = (np.cumsum(measure_count) - measure_count)[scorecard_code]
    group_start = (np.cumsum(group_count) - group_count)[scorecard_code]
    accounts = np.arange(len(scorecard_code))
    measure_row = _repeat_ranges(measure_start, measures_per_account)
    account_of_m = np.repeat(accounts, measures_per_account)
    first_group_of_account = np.cumsum(groups_per_account) - groups_per_account
    group_local = measure_rows["_group_local"].to_numpy()[measure_row]
    return _Grid(
        measure_row=measure_row,
        group_row=_repeat_ranges(group_start, groups_per_account),
        account_of_m=account_of_m,
        account_of_g=np.repeat(accounts, groups_per_account),
        group_of_m=first_group_of_account[account_of_m] + group_local,
    )


def _score_valid(
    *,
    values: pd.DataFrame,
    group_rows: pd.DataFrame,
    measure_rows: pd.DataFrame,
    scorecards: pd.DataFrame,
    bands: pd.DataFrame,
    exception_rules: pd.DataFrame,
    accounts: pd.DataFrame,
    scorecard_ids: list[int],
    as_of: date,
) -> ScoringResult:
    """Rules 2–8 for accounts (sorted by account_id) whose scorecards are valid.

    Works on flat numpy arrays: one row per (account, scorecard measure) laid out in scorecard
    order, one row per (account, group); per-group and per-account sums are ``np.bincount``
    over integer codes, so the cost grows linearly with the number of rows.
    """
    n_accounts = len(accounts)
    scorecard_index = pd.Index(scorecard_ids)
    scorecard_code = scorecard_index.get_indexer(accounts[SCORECARD_ID])
    grid = _grid(scorecard_code, measure_rows, group_rows, scorecard_index)
    layout_m, layout_g = grid.measure_row, grid.group_row
    account_of_m, account_of_g, group_of_m = grid.account_of_m, grid.account_of_g, grid.group_of_m

    def per_row(column: str) -> np.ndarray:
        """A measure_rows column repeated onto the (account, measure) rows."""
        return measure_rows[column].to_numpy()[layout_m]

    account_ids = accounts[ACCOUNT_ID].to_numpy()
    row_account_id = account_ids[account_of_m]
    row_measure_id = per_row(MEASURE_ID)
    row_key = per_row(MEASURE_KEY)
    n_rows = len(layout_m)

    # Rule 2: the latest value on or before as_of, stale beyond the measure's max age.
    # Values of other accounts or measures find no grid row in the merge and drop out.
    latest = latest_values(values, as_of=as_of).drop(columns=VALUE_ID)
    found = pd.DataFrame({ACCOUNT_ID: row_account_id, MEASURE_ID: row_measure_id}).merge(
        latest, on=[ACCOUNT_ID, MEASURE_ID], how="left", validate="many_to_one"
    )
    raw = found[RAW_VALUE].to_numpy(dtype=float, na_value=np.nan)
    value_as_of = _nanoseconds(found[AS_OF]).view("datetime64[ns]")
    has_value = ~np.isnan(raw)
    today = pd.Timestamp(as_of).as_unit("ns").value
    age_days = (today - _nanoseconds(found[AS_OF])) // _DAY_NS
    max_age = measure_rows[MAX_AGE_DAYS].to_numpy(dtype=float, na_value=np.nan)[layout_m]
    # "older than the max age" is strict: a value exactly max_age_days old still counts.
    is_stale = has_value & (age_days > max_age)  # NaN max age compares False: never stale
    is_present = has_value & ~is_stale

    # Rule 1 on the rows that have a value (stale ones too: their score is still reported).
    score = np.full(n_rows, np.nan)
    with_value = np.flatnonzero(has_value)
    mapping = [SCORECARD_ID, MEASURE_ID, MAPPING_TYPE, LO, HI, HIGHER_IS_BETTER, STEPS]
    to_map = measure_rows[mapping].iloc[layout_m[with_value]].reset_index(drop=True)
    mapped = map_raw_values(to_map.assign(**{RAW_VALUE: raw[with_value]}))
    score[with_value] = mapped.to_numpy()

    # Rules 3–5.
    n_group_rows = len(layout_g)
    weight = per_row(WEIGHT).astype(float)
    group_score, present_weight_in_group = _group_scores(
        weight, score, is_present, group_of_m, n_group_rows
    )
    group_weight = group_rows[WEIGHT].to_numpy(dtype=float)[layout_g]
    overall_exact, present_group_weight = _overall_scores(
        group_weight, group_score, account_of_g, n_accounts
    )
    coverage = _coverage(per_row("_nominal"), is_present, account_of_m, n_accounts)
    min_coverage = (
        scorecards.drop_duplicates(SCORECARD_ID)
        .set_index(SCORECARD_ID)[MIN_COVERAGE]
        .astype(float)
        .reindex(scorecard_index)
        .fillna(0.0)
        .to_numpy()
    )
    is_scored = ~np.isnan(overall_exact) & (coverage >= min_coverage[scorecard_code])
    computed = np.where(is_scored, round_half_up(overall_exact), np.nan)

    # Rule 6: effective weights, contributions and the biggest lever (scored accounts only).
    is_counted = is_present & is_scored[account_of_m]
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.where(
            is_counted,
            group_weight[group_of_m]
            / present_group_weight[account_of_m]
            * weight
            / present_weight_in_group[group_of_m],
            0.0,
        )
    key_rank = pd.factorize(measure_rows[MEASURE_KEY], sort=True)[0][layout_m]
    counted = np.flatnonzero(is_counted)
    cents = np.zeros(n_rows, dtype=np.int64)
    total_cents = np.nan_to_num(np.round(computed * 100.0)).astype(np.int64)
    cents[counted] = _largest_remainder_cents(
        effective[counted] * score[counted], account_of_m[counted], total_cents, key_rank[counted]
    )
    lever_row, lever_gain = _biggest_lever(
        effective[counted] * (100.0 - score[counted]),
        account_of_m[counted],
        key_rank[counted],
        n_accounts,
    )
    lever_key = np.full(n_accounts, None, dtype=object)
    has_lever = lever_row >= 0
    lever_key[has_lever] = row_key[counted[lever_row[has_lever]]]

    # Rule 7 and rule 8.
    band_rows = bands[bands[SCORECARD_ID].isin(scorecard_ids)]
    band_rows = band_rows.sort_values([SCORECARD_ID, MIN, LABEL], kind="stable")
    band_rows = band_rows.reset_index(drop=True)
    band_mins = [
        band_rows.loc[band_rows[SCORECARD_ID] == scorecard_id, MIN].to_numpy(dtype=float)
        for scorecard_id in scorecard_ids
    ]
    stored_score = round_half_up(score)
    fired = _fired_exceptions(
        exception_rules=exception_rules,
        scorecard_ids=scorecard_ids,
        row_account=account_of_m,
        row_scorecard=per_row(SCORECARD_ID),
        row_measure=row_measure_id,
        row_score=stored_score,
        is_present=is_present,
    )
    overall, band_rank = _apply_exceptions(
        computed=computed,
        scorecard_code=scorecard_code,
        band_mins=band_mins,
        band_rows=band_rows,
        fired=fired,
    )
    band_count = np.array([len(mins) for mins in band_mins], dtype=np.int64)
    band_start = np.cumsum(band_count) - band_count
    band = np.full(n_accounts, NOT_SCORED, dtype=object)
    ranked = band_rank >= 0
    labels = band_rows[LABEL].to_numpy(dtype=object)
    band[ranked] = labels[band_start[scorecard_code[ranked]] + band_rank[ranked]]

    exception_records = np.empty(len(fired), dtype=object)
    exception_records[:] = [
        {RULE_ID: int(rule_id), REASON: reason, ACTION: action}
        for rule_id, reason, action in zip(
            fired[RULE_ID], fired[REASON], fired[ACTION], strict=True
        )
    ]
    missing = np.flatnonzero(~is_present)
    account_frame = pd.DataFrame(
        {
            ACCOUNT_ID: account_ids,
            SCORECARD_ID: accounts[SCORECARD_ID].to_numpy(),
            COMPUTED: computed,
            OVERALL: overall,
            BAND: band,
            COVERAGE: coverage,
            IS_SCORED: is_scored,
            MISSING_MEASURES: _lists_per_account(
                row_key[missing],
                account_of_m[missing],
                n_accounts,
            ),
            EXCEPTIONS: _lists_per_account(
                exception_records, fired["_account"].to_numpy(), n_accounts
            ),
            BIGGEST_LEVER_KEY: lever_key,
            BIGGEST_LEVER_GAIN: lever_gain,
            ERROR: np.full(n_accounts, None, dtype=object),
        },
        columns=ACCOUNT_COLUMNS,
    )

    group_scored = is_scored[account_of_g] & ~np.isnan(group_score)
    with np.errstate(invalid="ignore", divide="ignore"):
        group_effective = np.where(
            group_scored, group_weight / present_group_weight[account_of_g], 0.0
        )
    group_frame = pd.DataFrame(
        {
            ACCOUNT_ID: account_ids[account_of_g],
            GROUP_ID: group_rows[GROUP_ID].to_numpy()[layout_g],
            GROUP_NAME: group_rows[GROUP_NAME].to_numpy(dtype=object)[layout_g],
            WEIGHT: group_weight,
            SCORE: round_half_up(group_score),
            EFFECTIVE_WEIGHT: np.round(group_effective, 6),
        },
        columns=GROUP_COLUMNS,
    )
    measure_frame = pd.DataFrame(
        {
            ACCOUNT_ID: row_account_id,
            MEASURE_ID: row_measure_id,
            MEASURE_KEY: row_key,
            GROUP_ID: per_row(GROUP_ID),
            RAW_VALUE: raw,
            VALUE_AS_OF: value_as_of,
            SCORE: stored_score,
            IS_STALE: is_stale,
            IS_PRESENT: is_present,
            WEIGHT: weight,
            EFFECTIVE_WEIGHT: np.round(effective, 6),
            CONTRIBUTION: cents / 100.0,
        },
        columns=MEASURE_COLUMNS,
    )
    return ScoringResult(accounts=account_frame, groups=group_frame, measures=measure_frame)


def _fired_exceptions(
    *,
    exception_rules: pd.DataFrame,
    scorecard_ids: list[int],
    row_account: np.ndarray,
    row_scorecard: np.ndarray,
    row_measure: np.ndarray,
    row_score: np.ndarray,
    is_present: np.ndarray,
) -> pd.DataFrame:
    """Rule 8, first half: which rules fire for which account.

    Only present measures are tested — a stale or absent measure never fires. Output:
    ``_account`` (account code), ``scorecard_id, rule_id, action, band, score`` (the override
    score) and ``reason``, sorted by account then rule_id.
    """
    rules = exception_rules[exception_rules[SCORECARD_ID].isin(scorecard_ids)]
    present = np.flatnonzero(is_present)
    candidates = pd.DataFrame(
        {
            "_account": row_account[present],
            SCORECARD_ID: row_scorecard[present],
            MEASURE_ID: row_measure[present],
            "_measure_score": row_score[present],
        }
    ).merge(
        rules[[SCORECARD_ID, MEASURE_ID, RULE_ID, OP, VALUE, ACTION, BAND, SCORE, REASON]],
        on=[SCORECARD_ID, MEASURE_ID],
        how="inner",
    )
    fires = _exception_fires(
        candidates["_measure_score"].to_numpy(dtype=float),
        candidates[OP].to_numpy(dtype=object),
        candidates[VALUE].to_numpy(dtype=float),
    )
    fired = candidates[fires].sort_values(["_account", RULE_ID], kind="stable")
    return fired.drop(columns=[MEASURE_ID, "_measure_score", OP, VALUE]).reset_index(drop=True)


def _apply_exceptions(
    *,
    computed: np.ndarray,
    scorecard_code: np.ndarray,
    band_mins: list[np.ndarray],
    band_rows: pd.DataFrame,
    fired: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 8, second half: precedence override > cap_band > flag.

    Any override: overall = the lowest override score (2 decimals) and the band follows it;
    cap_band is then ignored. Else any cap_band: band = the worst (lowest min) of the computed
    band and every named band. Flags change nothing; not-scored accounts stay not scored.
    Output: (overall, band rank within the scorecard or −1) per account.
    """
    n = len(computed)
    is_scored = ~np.isnan(computed)
    accounts = fired["_account"].to_numpy()
    action = fired[ACTION].to_numpy(dtype=object)

    lowest_override = np.full(n, np.inf)
    overrides = action == OVERRIDE
    np.minimum.at(lowest_override, accounts[overrides], fired[SCORE].to_numpy(float)[overrides])
    is_overridden = is_scored & np.isfinite(lowest_override)
    overall = computed.copy()
    overall[is_overridden] = round_half_up(lowest_override[is_overridden])
    band_rank = _band_ranks(overall, scorecard_code, band_mins)

    caps = fired[action == CAP_BAND]
    ranked_bands = band_rows.assign(_rank=band_rows.groupby(SCORECARD_ID).cumcount())
    # Labels are unique per scorecard; should a frame repeat one, its lowest band counts.
    ranked_bands = ranked_bands.drop_duplicates([SCORECARD_ID, LABEL], keep="first")
    cap_ranks = caps.merge(
        ranked_bands[[SCORECARD_ID, LABEL, "_rank"]].rename(columns={LABEL: BAND}),
        on=[SCORECARD_ID, BAND],
        how="inner",
    )
    worst_cap = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(worst_cap, cap_ranks["_account"].to_numpy(), cap_ranks["_rank"].to_numpy())
    is_capped = is_scored & ~is_overridden
    band_rank = np.where(is_capped, np.minimum(band_rank, worst_cap), band_rank)
    return overall, band_rank


# --- Rule "assignment": which scorecard scores which account ------------------------------------
def assign_scorecards(accounts: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Choose each account's scorecard: the first matching rule by priority, else the default.

    Inputs: accounts ``account_id, segment, tier, lifecycle``; rules ``scorecard_id, priority,
    segments, tiers, lifecycles, is_default`` (lists; empty or None = any value). Rules are tried
    by priority, ties by scorecard_id. A rule matches when every non-empty list contains the
    account's value; a non-default rule with all three lists empty matches nothing (it would
    otherwise swallow every account). The default scorecard's own lists are a rule like any
    other, and it is also the fallback. Should several rows claim to be the default, the first
    by (priority, scorecard_id) is used. Output: ``account_id, scorecard_id`` sorted by
    account_id; with no default, unmatched accounts are absent.
    """
    _require_columns(accounts, [ACCOUNT_ID, SEGMENT, TIER, LIFECYCLE], "accounts")
    _require_columns(
        rules, [SCORECARD_ID, PRIORITY, SEGMENTS, TIERS, LIFECYCLES, IS_DEFAULT], "rules"
    )
    ordered = rules.sort_values([PRIORITY, SCORECARD_ID], kind="stable")
    chosen = pd.Series(pd.NA, index=accounts.index, dtype="Int64")
    dimensions = ((SEGMENTS, SEGMENT), (TIERS, TIER), (LIFECYCLES, LIFECYCLE))
    for rule in ordered.to_dict("records"):
        wanted = [(_as_list(rule[lists]), column) for lists, column in dimensions]
        if not rule[IS_DEFAULT] and not any(allowed for allowed, _ in wanted):
            continue
        matches = chosen.isna().to_numpy()
        for allowed, column in wanted:
            if allowed:
                matches &= accounts[column].isin(allowed).to_numpy()
        chosen[matches] = rule[SCORECARD_ID]
    defaults = ordered.loc[ordered[IS_DEFAULT].astype(bool), SCORECARD_ID]
    if len(defaults):
        chosen = chosen.fillna(int(defaults.iloc[0]))
    result = pd.DataFrame({ACCOUNT_ID: accounts[ACCOUNT_ID], SCORECARD_ID: chosen})
    result = result.dropna(subset=[SCORECARD_ID])
    result = result.astype({ACCOUNT_ID: np.int64, SCORECARD_ID: np.int64})
    return result.sort_values(ACCOUNT_ID, kind="stable").reset_index(drop=True)


# --- Rule 9: trend ------------------------------------------------------------------------------
def trends(
    current: pd.DataFrame,
    history: pd.DataFrame,
    *,
    as_of: date,
    windows: tuple[int, ...] = (7, 30, 90),
    flat_below: float = 2.0,
) -> pd.DataFrame:
    """Rule 9: overall today minus overall on the nearest snapshot on or before today − N days.

    Inputs: current ``account_id, overall`` (today's scores, NaN = not scored); history
    ``account_id, as_of, overall`` (earlier snapshots). The nearest snapshot is taken as is: if
    it was not scored the delta is NaN (an older scored snapshot is not used instead).
    Output, sorted by account_id: ``account_id`` then ``trend_N`` (2 decimals, NaN when either
    side is missing) and ``direction_N`` ('up' | 'down' | 'flat' | None) for each N in
    ``windows``; flat when the rounded |delta| < ``flat_below``.
    """
    _require_columns(current, [ACCOUNT_ID, OVERALL], "current")
    _require_columns(history, [ACCOUNT_ID, AS_OF, OVERALL], "history")
    if current[ACCOUNT_ID].duplicated().any():
        raise ValueError("current must hold one row per account")
    today = current[[ACCOUNT_ID, OVERALL]].sort_values(ACCOUNT_ID, kind="stable")
    today = today.reset_index(drop=True)
    # Stable sort: of two snapshots on one date, the later row in `history` counts.
    past = history[[ACCOUNT_ID, OVERALL]].assign(**{AS_OF: pd.to_datetime(history[AS_OF])})
    past = past.sort_values([ACCOUNT_ID, AS_OF], kind="stable")
    result = today[[ACCOUNT_ID]].copy()
    for days in windows:
        # "before D−N+1 days" is "on or before D−N" even if a snapshot carries a time.
        cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=days - 1)
        nearest = past[past[AS_OF] < cutoff].drop_duplicates(ACCOUNT_ID, keep="last")
        then = today[ACCOUNT_ID].map(nearest.set_index(ACCOUNT_ID)[OVERALL]).astype(float)
        delta = round_half_up(today[OVERALL].astype(float).to_numpy() - then.to_numpy())
        result[f"trend_{days}"] = delta
        result[f"direction_{days}"] = _direction(delta, flat_below)
    return result


def _direction(delta: np.ndarray, flat_below: float) -> np.ndarray:
    """'up' / 'down' / 'flat' per delta; None where the delta is NaN."""
    direction = np.where(delta > 0, UP, DOWN).astype(object)
    direction[np.abs(delta) < flat_below] = FLAT
    direction[np.isnan(delta)] = None
    return direction


# --- Rule 11: what changed ----------------------------------------------------------------------
def score_changes(measures_a: pd.DataFrame, measures_b: pd.DataFrame) -> pd.DataFrame:
    """Rule 11: per measure, contribution on B minus contribution on A.

    Inputs: two frames ``measure_key, contribution`` (one account's measure rows on dates A and
    B; one row per key). Output: ``measure_key, contribution_a, contribution_b, change`` —
    contribution_a/b are NaN where that date has no row for the key, and count as 0 in
    ``change``; sorted by |change| descending, then measure_key. Computed in integer cents, so
    the changes add up exactly to Σcontribution_b − Σcontribution_a.
    """
    for name, frame in (("measures_a", measures_a), ("measures_b", measures_b)):
        _require_columns(frame, [MEASURE_KEY, CONTRIBUTION], name)
        if frame[MEASURE_KEY].duplicated().any():
            raise ValueError(f"{name} must hold one row per measure_key")
    side_a = measures_a[[MEASURE_KEY, CONTRIBUTION]].rename(columns={CONTRIBUTION: CONTRIBUTION_A})
    side_b = measures_b[[MEASURE_KEY, CONTRIBUTION]].rename(columns={CONTRIBUTION: CONTRIBUTION_B})
    merged = side_a.merge(side_b, on=MEASURE_KEY, how="outer", sort=True)
    merged = merged.astype({CONTRIBUTION_A: float, CONTRIBUTION_B: float})
    cents_a = np.round(merged[CONTRIBUTION_A].fillna(0.0).to_numpy() * 100.0).astype(np.int64)
    cents_b = np.round(merged[CONTRIBUTION_B].fillna(0.0).to_numpy() * 100.0).astype(np.int64)
    change_cents = cents_b - cents_a
    merged = merged.assign(**{CHANGE: change_cents / 100.0, "_size": np.abs(change_cents)})
    merged = merged.sort_values(["_size", MEASURE_KEY], ascending=[False, True], kind="stable")
    return merged.drop(columns="_size").reset_index(drop=True)


def largest_changes(
    contributions_a: dict[str, float], contributions_b: dict[str, float], *, count: int = 3
) -> list[tuple[str, float]]:
    """Rule 11 for one account, without a DataFrame (a night's band moves call it thousands
    of times): the `count` largest per-measure changes, contribution on B minus contribution
    on A, a missing side counting 0, in integer cents as `score_changes`; sorted by |change|
    descending, then measure key; changes of 0 left out. Returns [(measure_key, change)]."""
    changes = []
    for key in contributions_a.keys() | contributions_b.keys():
        cents = _cents(contributions_b.get(key)) - _cents(contributions_a.get(key))
        if cents:
            changes.append((key, cents))
    changes.sort(key=lambda item: (-abs(item[1]), item[0]))
    return [(key, cents / 100) for key, cents in changes[:count]]


def _cents(points: Any) -> int:
    """Points as integer cents; a missing contribution (None, NaN) is 0. Plain float checks:
    a night's band moves call it tens of thousands of times."""
    if points is None:
        return 0
    value = float(points)
    return 0 if value != value else round(value * 100)
