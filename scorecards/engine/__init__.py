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

The rules live in this package's modules by topic (columns, mapping, values, rules,
exceptions, run, history, windows); this module is their one public face, so callers write
``engine.score_accounts`` wherever a rule lives.
"""

from scorecards.engine.columns import (
    ACCOUNT_COLUMNS,
    ACCOUNT_ID,
    ACTION,
    ACTIONS,
    AS_OF,
    BAND,
    BIGGEST_LEVER_GAIN,
    BIGGEST_LEVER_KEY,
    CAP_BAND,
    CHANGE,
    COMPUTED,
    CONTRIBUTION,
    CONTRIBUTION_A,
    CONTRIBUTION_B,
    COVERAGE,
    DIRECT,
    DOWN,
    EFFECT,
    EFFECTIVE_WEIGHT,
    ERROR,
    EXCEPTIONS,
    FLAG,
    FLAT,
    GROUP_COLUMNS,
    GROUP_ID,
    GROUP_NAME,
    HI,
    HIGHER_IS_BETTER,
    IS_DEFAULT,
    IS_PRESENT,
    IS_SCORED,
    IS_STALE,
    LABEL,
    LIFECYCLE,
    LIFECYCLES,
    LINEAR,
    LO,
    MAPPING_TYPE,
    MAPPING_TYPES,
    MAX_AGE_DAYS,
    MEASURE_COLUMNS,
    MEASURE_ID,
    MEASURE_KEY,
    MIN,
    MIN_COVERAGE,
    MISSING_MEASURES,
    NOT_SCORED,
    OP,
    OPS,
    OVERALL,
    OVERRIDE,
    POSITION,
    PRIORITY,
    RAW_VALUE,
    REASON,
    RULE_ID,
    SCORE,
    SCORECARD_ID,
    SEGMENT,
    SEGMENTS,
    STEPPED,
    STEPS,
    TIER,
    TIERS,
    UP,
    VALUE,
    VALUE_AS_OF,
    VALUE_ID,
    WEIGHT,
    ScoringResult,
)
from scorecards.engine.history import (
    LineChange,
    assign_scorecards,
    largest_changes,
    line_changes,
    score_changes,
    trends,
)
from scorecards.engine.mapping import (
    days,
    map_raw_values,
    measure_scores_from_raw,
    round_half_up,
    validate_scorecard,
)
from scorecards.engine.run import score_accounts
from scorecards.engine.values import latest_values
from scorecards.engine.windows import (
    AGGREGATES,
    DERIVED_COLUMNS,
    INPUTS,
    METRIC_VALUE_COLUMNS,
    SOURCE_COLUMNS,
    derivation_first_date,
    derived_values,
    number_words,
    window_aggregate,
)
