"""Column names, vocabulary and the result type shared by the engine's modules (see the
package docstring for the frames they describe)."""

from __future__ import annotations

from dataclasses import dataclass

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
EFFECT = "effect"

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

DAY_NS = 86_400 * 10**9
NAT = np.iinfo(np.int64).min  # how NaT looks as int64 nanoseconds


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
