"""Tests for scorecards.engine — PRODUCT.md "Scoring rules (normative)".

Every expected number is worked out by hand from the rule, with the arithmetic in a comment.
Plain pytest functions: the engine is pure, so no database is needed.
"""

from __future__ import annotations

import itertools
import math
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorecards import engine

AS_OF = date(2025, 3, 31)
NAN = math.nan
SENTIMENT_STEPS = [[1, 0], [2, 25], [3, 50], [4, 75], [5, 100]]
RED_YELLOW_GREEN = [("Red", 0.0), ("Yellow", 50.0), ("Green", 75.0)]
_value_ids = itertools.count(1)


# --- Builders -----------------------------------------------------------------------------------
def measure(
    measure_id: int,
    key: str,
    weight: float,
    *,
    group_id: int = 1,
    scorecard_id: int = 1,
    mapping_type: str = "direct",
    lo: float = NAN,
    hi: float = NAN,
    higher_is_better: bool = True,
    steps: list | None = None,
    max_age_days: float = NAN,
) -> dict:
    return {
        "scorecard_id": scorecard_id,
        "group_id": group_id,
        "measure_id": measure_id,
        "measure_key": key,
        "weight": float(weight),
        "mapping_type": mapping_type,
        "lo": lo,
        "hi": hi,
        "higher_is_better": higher_is_better,
        "steps": steps,
        "max_age_days": max_age_days,
    }


def group(
    group_id: int, weight: float, *, name: str | None = None, scorecard_id: int = 1, position=None
) -> dict:
    return {
        "scorecard_id": scorecard_id,
        "group_id": group_id,
        "group_name": name or f"Group {group_id}",
        "weight": float(weight),
        "position": group_id if position is None else position,
    }


def value(
    account_id: int,
    measure_id: int,
    raw_value: float,
    as_of: str = "2025-03-30",
    value_id: int | None = None,
) -> dict:
    return {
        "account_id": account_id,
        "measure_id": measure_id,
        "raw_value": float(raw_value),
        "as_of": pd.Timestamp(as_of),
        "value_id": next(_value_ids) if value_id is None else value_id,
    }


def rule(
    rule_id: int,
    measure_id: int,
    op: str,
    compared_with: float,
    action: str,
    *,
    band: str | None = None,
    score: float = NAN,
    reason: str = "Reason",
    scorecard_id: int = 1,
) -> dict:
    return {
        "scorecard_id": scorecard_id,
        "rule_id": rule_id,
        "measure_id": measure_id,
        "op": op,
        "value": float(compared_with),
        "action": action,
        "band": band,
        "score": float(score),
        "reason": reason,
    }


def values_frame(rows) -> pd.DataFrame:
    columns = ["account_id", "measure_id", "raw_value", "as_of", "value_id"]
    frame = pd.DataFrame(list(rows), columns=columns)
    return frame.astype(
        {
            "account_id": "int64",
            "measure_id": "int64",
            "raw_value": float,
            "as_of": "datetime64[ns]",
            "value_id": "int64",
        }
    )


def frames(
    *,
    measures,
    groups,
    values=(),
    accounts=(1,),
    assignments: dict[int, int] | None = None,
    bands=RED_YELLOW_GREEN,
    rules=(),
    min_coverage: float = 0.0,
) -> dict:
    """The keyword arguments of engine.score_accounts. Bands and min_coverage apply to every
    scorecard; ``assignments`` maps account → scorecard (default: ``accounts`` → scorecard 1)."""
    measures_frame = pd.DataFrame(list(measures))
    groups_frame = pd.DataFrame(list(groups))
    scorecard_ids = sorted(set(groups_frame["scorecard_id"]) | set(measures_frame["scorecard_id"]))
    assignments = assignments or {account_id: 1 for account_id in accounts}
    rule_columns = list(rule(0, 0, "<", 0, "flag"))
    return {
        "values": values_frame(values),
        "measures": measures_frame,
        "groups": groups_frame,
        "scorecards": pd.DataFrame({"scorecard_id": scorecard_ids, "min_coverage": min_coverage}),
        "bands": pd.DataFrame(
            [
                {"scorecard_id": scorecard_id, "label": label, "min": minimum}
                for scorecard_id in scorecard_ids
                for label, minimum in bands
            ],
            columns=["scorecard_id", "label", "min"],
        ),
        "exception_rules": pd.DataFrame(list(rules), columns=rule_columns),
        "assignments": pd.DataFrame(
            {"account_id": list(assignments), "scorecard_id": list(assignments.values())}
        ),
        "as_of": AS_OF,
    }


def score(**kwargs) -> engine.ScoringResult:
    return engine.score_accounts(**frames(**kwargs))


def account_row(result: engine.ScoringResult, account_id: int = 1) -> dict:
    return result.accounts.set_index("account_id").loc[account_id].to_dict()


def measure_row(result: engine.ScoringResult, key: str, account_id: int = 1) -> dict:
    rows = result.measures
    picked = rows[(rows["account_id"] == account_id) & (rows["measure_key"] == key)]
    assert len(picked) == 1
    return picked.iloc[0].to_dict()


def group_row(result: engine.ScoringResult, group_id: int, account_id: int = 1) -> dict:
    rows = result.groups
    picked = rows[(rows["account_id"] == account_id) & (rows["group_id"] == group_id)]
    assert len(picked) == 1
    return picked.iloc[0].to_dict()


def contributions(result: engine.ScoringResult, account_id: int = 1) -> dict[str, float]:
    rows = result.measures[result.measures["account_id"] == account_id]
    return dict(zip(rows["measure_key"], rows["contribution"], strict=True))


def cents_sum(numbers) -> Decimal:
    """Exact decimal sum of 2-decimal floats (float addition would drift)."""
    return sum((Decimal(str(number)) for number in numbers), Decimal("0"))


def one_direct_measure(raw_value: float, *, bands=RED_YELLOW_GREEN) -> engine.ScoringResult:
    """A scorecard with a single direct measure: the overall score is the raw value."""
    return score(
        measures=[measure(1, "adoption", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, raw_value)],
        bands=bands,
    )


# --- Rule 1: measure score ----------------------------------------------------------------------
def test_measure_scores_from_raw_direct_clamps_both_ends():
    raw = pd.Series([-5.0, 42.5, 130.0])
    scores = engine.measure_scores_from_raw(raw, "direct")
    assert scores.tolist() == [0.0, 42.5, 100.0]


def test_measure_scores_from_raw_linear_scales_between_lo_and_hi():
    raw = pd.Series([50.0, 150.0])
    scores = engine.measure_scores_from_raw(raw, "linear", lo=0.0, hi=200.0)
    # 50/200 × 100 = 25; 150/200 × 100 = 75
    assert scores.tolist() == [25.0, 75.0]


def test_measure_scores_from_raw_linear_clamps_both_ends():
    raw = pd.Series([-10.0, 250.0])
    scores = engine.measure_scores_from_raw(raw, "linear", lo=0.0, hi=200.0)
    # clamp(−10/200) = 0 → 0; clamp(250/200) = 1 → 100
    assert scores.tolist() == [0.0, 100.0]


def test_measure_scores_from_raw_linear_lower_is_better_inverts():
    raw = pd.Series([6.0, 45.0, -3.0])
    scores = engine.measure_scores_from_raw(raw, "linear", lo=0.0, hi=30.0, higher_is_better=False)
    # 100 − 6/30×100 = 80; 100 − clamp(45/30)×100 = 0; 100 − clamp(−3/30)×100 = 100
    assert scores.tolist() == [80.0, 0.0, 100.0]


def test_measure_scores_from_raw_steps_below_first_threshold_gets_first_score():
    raw = pd.Series([5.0])
    scores = engine.measure_scores_from_raw(raw, "steps", steps=[[10, 20], [20, 60], [30, 90]])
    assert scores.tolist() == [20.0]


def test_measure_scores_from_raw_steps_exactly_on_threshold_gets_that_step():
    raw = pd.Series([10.0, 20.0, 30.0])
    scores = engine.measure_scores_from_raw(raw, "steps", steps=[[10, 20], [20, 60], [30, 90]])
    assert scores.tolist() == [20.0, 60.0, 90.0]


def test_measure_scores_from_raw_steps_between_thresholds_gets_lower_step():
    raw = pd.Series([25.0])
    scores = engine.measure_scores_from_raw(raw, "steps", steps=[[10, 20], [20, 60], [30, 90]])
    assert scores.tolist() == [60.0]


def test_measure_scores_from_raw_steps_above_last_threshold_gets_last_score():
    raw = pd.Series([99.0])
    scores = engine.measure_scores_from_raw(raw, "steps", steps=[[10, 20], [20, 60], [30, 90]])
    assert scores.tolist() == [90.0]


@pytest.mark.parametrize(
    ("mapping_type", "options"),
    [
        ("direct", {}),
        ("linear", {"lo": 0.0, "hi": 10.0}),
        ("steps", {"steps": SENTIMENT_STEPS}),
    ],
)
def test_measure_scores_from_raw_missing_raw_stays_missing(mapping_type, options):
    scores = engine.measure_scores_from_raw(pd.Series([NAN]), mapping_type, **options)
    assert math.isnan(scores.iloc[0])


def test_measure_scores_from_raw_keeps_the_index():
    scores = engine.measure_scores_from_raw(pd.Series([1.0, 2.0], index=[7, 3]), "direct")
    assert scores.index.tolist() == [7, 3]


def test_measure_scores_from_raw_rejects_linear_with_hi_equal_lo():
    with pytest.raises(ValueError, match="hi different from lo"):
        engine.measure_scores_from_raw(pd.Series([1.0]), "linear", lo=5.0, hi=5.0)


def test_measure_scores_from_raw_rejects_unknown_mapping_type():
    with pytest.raises(ValueError, match="unknown mapping type 'log'"):
        engine.measure_scores_from_raw(pd.Series([1.0]), "log")


def test_map_raw_values_applies_each_measures_mapping():
    frame = pd.DataFrame(
        [
            {**measure(1, "adoption", 1), "raw_value": 120.0},
            {
                **measure(2, "sentiment", 1, mapping_type="steps", steps=SENTIMENT_STEPS),
                "raw_value": 3.0,
            },
            {**measure(1, "adoption", 1), "raw_value": 40.0},
        ],
        index=[10, 11, 12],
    )
    scores = engine.map_raw_values(frame)
    # direct clamp(120) = 100; steps: last threshold ≤ 3 is 3 → 50; direct 40
    assert scores.to_dict() == {10: 100.0, 11: 50.0, 12: 40.0}


def test_map_raw_values_reads_the_mapping_per_scorecard():
    frame = pd.DataFrame(
        [
            {**measure(1, "nps", 1, scorecard_id=1), "raw_value": 50.0},
            {
                **measure(1, "nps", 1, scorecard_id=2, mapping_type="linear", lo=0.0, hi=200.0),
                "raw_value": 50.0,
            },
        ]
    )
    # scorecard 1: direct 50; scorecard 2: 50/200 × 100 = 25
    assert engine.map_raw_values(frame).tolist() == [50.0, 25.0]


# --- Rounding -----------------------------------------------------------------------------------
def test_round_half_up_rounds_halves_away_from_zero():
    rounded = engine.round_half_up([74.995, 2.675, 0.125, -0.125, 1.005, NAN])
    # Python's round(2.675, 2) gives 2.67 (binary float); stored scores use ROUND_HALF_UP.
    assert rounded[:5].tolist() == [75.0, 2.68, 0.13, -0.13, 1.01]
    assert math.isnan(rounded[5])


# --- Rule 2: which value counts -----------------------------------------------------------------
def test_latest_values_picks_latest_per_account_and_measure():
    values = values_frame(
        [
            value(2, 1, 10, "2025-03-01", value_id=1),
            value(1, 1, 20, "2025-03-10", value_id=2),
            value(1, 1, 30, "2025-03-05", value_id=3),
            value(1, 2, 40, "2025-04-01", value_id=4),  # after the scoring date
        ]
    )
    latest = engine.latest_values(values, as_of=AS_OF)
    assert latest[["account_id", "measure_id", "raw_value"]].values.tolist() == [
        [1, 1, 20.0],
        [2, 1, 10.0],
    ]


def test_latest_values_handles_value_ids_too_wide_to_pack():
    values = values_frame(
        [
            value(1, 1, 20, "2025-03-10", value_id=2**62),
            value(1, 1, 30, "2025-03-10", value_id=1),
            value(1, 1, 40, "1990-01-01", value_id=2**61),
        ]
    )
    latest = engine.latest_values(values, as_of=AS_OF)
    # Equal as_of: the higher value_id (2**62) wins.
    assert latest["raw_value"].tolist() == [20.0]


def test_score_accounts_uses_latest_value_on_or_before_date():
    result = score(
        measures=[measure(1, "adoption", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 40, "2025-03-01"), value(1, 1, 70, "2025-03-31")],
    )
    # The value dated on D itself counts: overall = 70.00
    assert account_row(result)["overall"] == 70.0
    assert measure_row(result, "adoption")["value_as_of"] == pd.Timestamp("2025-03-31")


def test_score_accounts_ignores_value_dated_after_scoring_date():
    result = score(
        measures=[measure(1, "adoption", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 40, "2025-03-30"), value(1, 1, 90, "2025-04-01")],
    )
    assert account_row(result)["overall"] == 40.0


def test_score_accounts_equal_as_of_goes_to_higher_value_id():
    result = score(
        measures=[measure(1, "adoption", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 60, "2025-03-30", value_id=9), value(1, 1, 30, "2025-03-30", 5)],
    )
    assert account_row(result)["overall"] == 60.0


def test_score_accounts_stale_value_counts_as_missing():
    result = score(
        measures=[
            measure(1, "nps", 1, max_age_days=30),
            measure(2, "adoption", 1),
        ],
        groups=[group(1, 1)],
        values=[value(1, 1, 20, "2025-02-28"), value(1, 2, 80, "2025-03-30")],
    )
    # 2025-03-31 − 2025-02-28 = 31 days > 30 → stale; adoption alone: 80·1/1 = 80.00
    nps = measure_row(result, "nps")
    assert (nps["is_stale"], nps["is_present"], nps["raw_value"], nps["score"]) == (
        True,
        False,
        20.0,
        20.0,
    )
    assert account_row(result)["overall"] == 80.0
    assert account_row(result)["missing_measures"] == ["nps"]


def test_score_accounts_value_exactly_at_max_age_is_not_stale():
    result = score(
        measures=[
            measure(1, "nps", 1, max_age_days=30),
            measure(2, "adoption", 1),
        ],
        groups=[group(1, 1)],
        values=[value(1, 1, 20, "2025-03-01"), value(1, 2, 80, "2025-03-30")],
    )
    # 2025-03-31 − 2025-03-01 = 30 days, not > 30: (1·20 + 1·80) / 2 = 50.00
    assert measure_row(result, "nps")["is_stale"] is False
    assert account_row(result)["overall"] == 50.0


# --- Rules 3 and 4: group and overall score -----------------------------------------------------
def test_score_accounts_group_score_is_weighted_mean_of_present_measures():
    result = score(
        measures=[measure(1, "adoption", 50), measure(2, "nps", 30)],
        groups=[group(1, 50)],
        values=[value(1, 1, 80), value(1, 2, 40)],
    )
    # (50·80 + 30·40) / 80 = 5200 / 80 = 65.00
    assert group_row(result, 1)["score"] == 65.0


def test_score_accounts_overall_is_weighted_mean_of_group_scores():
    result = score(
        measures=[
            measure(1, "adoption", 50, group_id=1),
            measure(2, "nps", 30, group_id=1),
            measure(3, "sentiment", 1, group_id=2),
        ],
        groups=[group(1, 60), group(2, 40)],
        values=[value(1, 1, 80), value(1, 2, 40), value(1, 3, 90)],
    )
    # group 1 = 65 (see above), group 2 = 90; (60·65 + 40·90) / 100 = 7500 / 100 = 75.00
    assert account_row(result)["overall"] == 75.0


def test_score_accounts_missing_measure_hands_its_weight_to_the_others():
    result = score(
        measures=[measure(1, "adoption", 50), measure(2, "nps", 30), measure(3, "csat", 20)],
        groups=[group(1, 1)],
        values=[value(1, 1, 80), value(1, 3, 30)],
    )
    # nps missing: (50·80 + 20·30) / (50 + 20) = 4600 / 70 = 65.714… → 65.71
    assert account_row(result)["overall"] == 65.71
    # effective weights 50/70 = 0.714286 and 20/70 = 0.285714; missing → 0
    assert measure_row(result, "adoption")["effective_weight"] == 0.714286
    assert measure_row(result, "csat")["effective_weight"] == 0.285714
    assert measure_row(result, "nps")["effective_weight"] == 0.0


def test_score_accounts_missing_group_hands_its_weight_to_the_others():
    result = score(
        measures=[
            measure(1, "adoption", 1, group_id=1),
            measure(2, "nps", 1, group_id=2),
            measure(3, "sponsor", 1, group_id=3),
        ],
        groups=[group(1, 50), group(2, 30), group(3, 20)],
        values=[value(1, 1, 80), value(1, 3, 30)],
    )
    # group 2 missing: (50·80 + 20·30) / 70 = 65.714… → 65.71
    assert account_row(result)["overall"] == 65.71
    missing = group_row(result, 2)
    assert math.isnan(missing["score"]) and missing["effective_weight"] == 0.0
    assert group_row(result, 1)["effective_weight"] == 0.714286  # 50 / 70


def test_score_accounts_no_group_present_is_not_scored_never_zero():
    result = score(measures=[measure(1, "adoption", 1)], groups=[group(1, 1)], values=[])
    row = account_row(result)
    assert math.isnan(row["overall"]) and math.isnan(row["computed"])
    assert (row["band"], row["is_scored"], row["coverage"]) == ("Not scored", False, 0.0)
    assert row["missing_measures"] == ["adoption"]


def test_score_accounts_lists_missing_measures_in_scorecard_order():
    result = score(
        measures=[
            measure(1, "adoption", 1, group_id=1),
            measure(3, "sentiment", 1, group_id=2),
            measure(2, "nps", 1, group_id=2),
        ],
        groups=[group(1, 1, position=2), group(2, 1, position=1)],
        values=[],
    )
    # group 2 comes first (position 1), measures inside it by measure_id: nps (2), sentiment (3)
    assert account_row(result)["missing_measures"] == ["nps", "sentiment", "adoption"]


# --- Rule 5: coverage ---------------------------------------------------------------------------
def coverage_case(min_coverage: float) -> engine.ScoringResult:
    return score(
        measures=[
            measure(1, "adoption", 3, group_id=1),
            measure(2, "nps", 1, group_id=1),
            measure(3, "sentiment", 1, group_id=2),
        ],
        groups=[group(1, 60), group(2, 40)],
        values=[value(1, 1, 80), value(1, 3, 50)],
        min_coverage=min_coverage,
    )


def test_score_accounts_coverage_is_nominal_weight_present():
    result = coverage_case(min_coverage=0.0)
    # adoption 0.6 × 3/4 = 0.45, nps 0.6 × 1/4 = 0.15 (missing), sentiment 0.4 × 1/1 = 0.40
    # coverage = 0.45 + 0.40 = 0.85
    assert account_row(result)["coverage"] == 0.85


def test_score_accounts_coverage_below_minimum_is_not_scored():
    result = coverage_case(min_coverage=0.9)
    row = account_row(result)
    assert (row["band"], row["is_scored"], row["coverage"]) == ("Not scored", False, 0.85)
    assert math.isnan(row["overall"]) and math.isnan(row["computed"])
    assert row["missing_measures"] == ["nps"]
    # Scores are still reported: adoption 80, group 1 = 80 (only adoption present)
    assert measure_row(result, "adoption")["score"] == 80.0
    assert group_row(result, 1)["score"] == 80.0


def test_score_accounts_coverage_equal_to_minimum_is_scored():
    result = coverage_case(min_coverage=0.85)
    # 0.45 + 0.40 is 0.8500000000000001 in floats; the stored 4-decimal 0.85 is compared.
    # (60·80 + 40·50) / 100 = 68.00
    assert account_row(result)["overall"] == 68.0


def test_score_accounts_not_scored_account_has_no_contributions():
    result = coverage_case(min_coverage=0.9)
    assert contributions(result) == {"adoption": 0.0, "nps": 0.0, "sentiment": 0.0}
    assert measure_row(result, "adoption")["effective_weight"] == 0.0
    row = account_row(result)
    assert row["biggest_lever_key"] is None and math.isnan(row["biggest_lever_gain"])


# --- Rule 6: contribution and biggest lever -----------------------------------------------------
def rule_6_case() -> engine.ScoringResult:
    return score(
        measures=[
            measure(1, "adoption", 50, group_id=1),
            measure(2, "deployment", 30, group_id=1),
            measure(3, "nps", 1, group_id=2),
            measure(4, "sponsor", 1, group_id=3),
        ],
        groups=[group(1, 50), group(2, 30), group(3, 20)],
        values=[value(1, 1, 80), value(1, 2, 40), value(1, 4, 100)],
    )


def test_score_accounts_effective_weight_follows_rule_6():
    result = rule_6_case()
    # groups present: 1 and 3, ΣW = 70
    # adoption 50/70 × 50/80 = 0.4464285…; deployment 50/70 × 30/80 = 0.2678571…
    # sponsor 20/70 × 1/1 = 0.2857142…; nps missing → 0
    weights = result.measures.set_index("measure_key")["effective_weight"].to_dict()
    assert weights == {
        "adoption": 0.446429,
        "deployment": 0.267857,
        "nps": 0.0,
        "sponsor": 0.285714,
    }


def test_score_accounts_contributions_tie_on_remainder_goes_to_first_key():
    result = rule_6_case()
    # group 1 = (50·80 + 30·40)/80 = 65; overall = (50·65 + 20·100)/70 = 5250/70 = 75.00
    # exact: adoption 0.4464285·80 = 35.714285 (250/7), deployment 0.2678571·40 = 10.714285
    # (75/7), sponsor 0.2857142·100 = 28.571428 (200/7). Floors 35.71 + 10.71 + 28.57 = 74.99:
    # one cent short; adoption and deployment tie on remainder 3/7 → "adoption" gets it.
    assert account_row(result)["computed"] == 75.0
    assert contributions(result) == {
        "adoption": 35.72,
        "deployment": 10.71,
        "nps": 0.0,
        "sponsor": 28.57,
    }


def test_score_accounts_contributions_sum_to_computed_where_naive_rounding_falls_short():
    result = score(
        measures=[measure(1, "alpha", 1), measure(2, "bravo", 1), measure(3, "charlie", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 100), value(1, 2, 100), value(1, 3, 100)],
    )
    # each 1/3 × 100 = 33.333…; naive 33.33 × 3 = 99.99 ≠ 100.00. Equal remainders: the
    # missing cent goes to the first key, "alpha".
    assert contributions(result) == {"alpha": 33.34, "bravo": 33.33, "charlie": 33.33}
    assert account_row(result)["computed"] == 100.0


def test_score_accounts_contributions_sum_to_computed_where_naive_rounding_overshoots():
    result = score(
        measures=[measure(1, "alpha", 1), measure(2, "bravo", 1), measure(3, "charlie", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 3.015), value(1, 2, 3.015), value(1, 3, 3.015)],
    )
    # overall 3.015 → 3.02 (half up); each contribution 1.005: naive half-up 1.01 × 3 = 3.03.
    # Floors 1.00 × 3 = 3.00, two cents short, equal remainders → alpha and bravo.
    assert account_row(result)["computed"] == 3.02
    assert contributions(result) == {"alpha": 1.01, "bravo": 1.01, "charlie": 1.0}


def test_score_accounts_biggest_lever_is_largest_weight_times_gap():
    result = rule_6_case()
    # adoption 0.4464285 × (100 − 80) = 8.93; deployment 0.2678571 × (100 − 40) = 16.0714…
    # sponsor 0.2857142 × 0 = 0 → deployment, 16.07
    row = account_row(result)
    assert (row["biggest_lever_key"], row["biggest_lever_gain"]) == ("deployment", 16.07)


def test_score_accounts_biggest_lever_tie_goes_to_first_key():
    result = score(
        measures=[measure(1, "bravo", 1), measure(2, "alpha", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 50), value(1, 2, 50)],
    )
    # both 0.5 × (100 − 50) = 25.00 → "alpha"
    row = account_row(result)
    assert (row["biggest_lever_key"], row["biggest_lever_gain"]) == ("alpha", 25.0)


def test_score_accounts_no_biggest_lever_when_every_score_is_100():
    result = score(
        measures=[measure(1, "alpha", 1), measure(2, "bravo", 1)],
        groups=[group(1, 1)],
        values=[value(1, 1, 100), value(1, 2, 100)],
    )
    row = account_row(result)
    assert row["biggest_lever_key"] is None and math.isnan(row["biggest_lever_gain"])


# --- Rule 7: bands ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw_value", "band"),
    [(49.99, "Red"), (50.0, "Yellow"), (74.99, "Yellow"), (75.0, "Green"), (100.0, "Green")],
)
def test_score_accounts_band_lower_bound_is_inclusive(raw_value, band):
    assert account_row(one_direct_measure(raw_value))["band"] == band


def test_score_accounts_band_uses_stored_two_decimal_score():
    row = account_row(one_direct_measure(74.995))
    # 74.995 rounds half up to 75.00, and 75.00 is Green
    assert (row["overall"], row["band"]) == (75.0, "Green")


def test_score_accounts_custom_band_scheme():
    grades = [("B", 80.0), ("F", 0.0), ("A", 90.0), ("D", 60.0), ("C", 70.0)]  # any order
    assert account_row(one_direct_measure(85.0, bands=grades))["band"] == "B"
    assert account_row(one_direct_measure(90.0, bands=grades))["band"] == "A"
    assert account_row(one_direct_measure(59.99, bands=grades))["band"] == "F"


def test_score_accounts_score_below_lowest_band_gets_lowest_band():
    bands = [("Low", 20.0), ("High", 60.0)]
    assert account_row(one_direct_measure(10.0, bands=bands))["band"] == "Low"


# --- Rule 8: exceptions -------------------------------------------------------------------------
def exception_case(*rules, adoption=85.0, sentiment=5.0, min_coverage=0.0, values=None):
    """adoption (direct) and sentiment (steps) with weight 1 each."""
    return score(
        measures=[
            measure(1, "adoption", 1),
            measure(
                2, "sentiment", 1, mapping_type="steps", steps=SENTIMENT_STEPS, max_age_days=60
            ),
        ],
        groups=[group(1, 1)],
        values=values if values is not None else [value(1, 1, adoption), value(1, 2, sentiment)],
        rules=rules,
        min_coverage=min_coverage,
    )


def test_score_accounts_flag_is_listed_and_changes_nothing():
    result = exception_case(
        rule(1, 2, "<=", 25, "flag", reason="Low CSM sentiment"), adoption=100, sentiment=2
    )
    # sentiment raw 2 → 25 (≤ 25 fires); (100 + 25) / 2 = 62.50 → Yellow
    row = account_row(result)
    assert (row["computed"], row["overall"], row["band"]) == (62.5, 62.5, "Yellow")
    assert row["exceptions"] == [
        {"rule_id": 1, "reason": "Low CSM sentiment", "action": "flag", "effect": 0.0}
    ]


def test_score_accounts_cap_band_lowers_the_band_not_the_score():
    result = exception_case(rule(1, 1, "<=", 85, "cap_band", band="Yellow"))
    # (85 + 100) / 2 = 92.50 → Green, capped to Yellow
    row = account_row(result)
    assert (row["computed"], row["overall"], row["band"]) == (92.5, 92.5, "Yellow")


def test_score_accounts_cap_band_never_raises_the_band():
    result = exception_case(
        rule(1, 1, "<=", 85, "cap_band", band="Yellow"), adoption=20, sentiment=2
    )
    # (20 + 25) / 2 = 22.50 → Red; "no better than Yellow" keeps Red
    assert account_row(result)["band"] == "Red"


def test_score_accounts_cap_band_takes_the_worst_named_band():
    result = exception_case(
        rule(1, 1, "<=", 85, "cap_band", band="Yellow"),
        rule(2, 2, ">=", 100, "cap_band", band="Red"),
    )
    # 92.50 Green; caps Yellow and Red → Red
    assert account_row(result)["band"] == "Red"


def test_score_accounts_override_sets_overall_and_its_band():
    result = exception_case(rule(1, 1, "<=", 85, "override", score=40))
    row = account_row(result)
    # computed stays (85 + 100) / 2 = 92.50; overall 40.00 → Red
    assert (row["computed"], row["overall"], row["band"]) == (92.5, 40.0, "Red")


def test_score_accounts_override_beats_cap_band():
    result = exception_case(
        rule(1, 1, "<=", 85, "cap_band", band="Red"),
        rule(2, 2, "==", 100, "override", score=60),
    )
    # override 60.00 → Yellow; the Red cap is ignored, but both are listed
    row = account_row(result)
    assert (row["overall"], row["band"]) == (60.0, "Yellow")
    assert [fired["rule_id"] for fired in row["exceptions"]] == [1, 2]


def test_score_accounts_lowest_override_wins():
    result = exception_case(
        rule(1, 1, "<=", 85, "override", score=60),
        rule(2, 2, ">", 50, "override", score=40),
    )
    assert (account_row(result)["overall"], account_row(result)["band"]) == (40.0, "Red")


def test_score_accounts_exceptions_listed_in_rule_id_order():
    result = exception_case(
        rule(7, 1, "<", 90, "flag", reason="Adoption under 90"),
        rule(3, 2, ">=", 75, "flag", reason="Sentiment high"),
        rule(5, 1, ">", 90, "flag", reason="Does not fire"),
    )
    assert account_row(result)["exceptions"] == [
        {"rule_id": 3, "reason": "Sentiment high", "action": "flag", "effect": 0.0},
        {"rule_id": 7, "reason": "Adoption under 90", "action": "flag", "effect": 0.0},
    ]


def test_score_accounts_exception_on_absent_measure_does_not_fire():
    result = exception_case(rule(1, 2, "<=", 25, "override", score=10), values=[value(1, 1, 85)])
    # sentiment absent: only adoption counts → 85.00 Green, nothing fires
    row = account_row(result)
    assert (row["overall"], row["band"], row["exceptions"]) == (85.0, "Green", [])


def test_score_accounts_exception_on_stale_measure_does_not_fire():
    result = exception_case(
        rule(1, 2, "<=", 25, "override", score=10),
        values=[value(1, 1, 85), value(1, 2, 1, "2025-01-01")],
    )
    # sentiment raw 1 → 0 would fire, but 89 days > 60: stale, so it does not
    row = account_row(result)
    assert (row["overall"], row["exceptions"]) == (85.0, [])


def test_score_accounts_exceptions_of_not_scored_account_are_listed_but_change_nothing():
    result = exception_case(
        rule(1, 2, "<=", 25, "override", score=10, reason="Low CSM sentiment"),
        values=[value(1, 2, 1)],
        min_coverage=1.0,
    )
    # adoption missing → coverage 0.5 < 1.0 → not scored; the override fired but changes nothing
    row = account_row(result)
    assert math.isnan(row["overall"]) and row["band"] == "Not scored"
    assert row["exceptions"] == [
        {"rule_id": 1, "reason": "Low CSM sentiment", "action": "override", "effect": 0.0}
    ]


# --- Rule 12: an exception's effect is a line too -----------------------------------------------
def test_score_accounts_override_effect_makes_the_lines_add_up_to_the_overall():
    result = exception_case(
        rule(1, 2, "<=", 25, "override", score=30, reason="Low CSM sentiment"),
        adoption=83.2,
        sentiment=2,
    )
    # computed (83.20 + 25.00) / 2 = 54.10; contributions 41.60 + 12.50 = 54.10;
    # the override sets 30.00, so its line is 30.00 − 54.10 = −24.10 and
    # 41.60 + 12.50 − 24.10 = 30.00, the overall shown.
    row = account_row(result)
    contributions = result.measures["contribution"].tolist()
    assert (row["computed"], row["overall"], row["band"]) == (54.1, 30.0, "Red")
    assert contributions == [41.6, 12.5]
    assert row["exceptions"] == [
        {"rule_id": 1, "reason": "Low CSM sentiment", "action": "override", "effect": -24.1}
    ]


def test_score_accounts_only_the_winning_override_has_an_effect():
    result = exception_case(
        rule(1, 1, "<=", 85, "override", score=60),
        rule(2, 2, ">", 50, "override", score=40),
        rule(3, 1, "<=", 85, "cap_band", band="Red"),
    )
    # computed (85 + 100) / 2 = 92.50; the lowest override (rule 2, 40.00) wins:
    # 40.00 − 92.50 = −52.50; rule 1 lost and the cap is ignored: 0 each
    effects = [fired["effect"] for fired in account_row(result)["exceptions"]]
    assert effects == [0.0, -52.5, 0.0]


def test_score_accounts_equal_overrides_give_the_effect_to_the_lower_rule_id():
    result = exception_case(
        rule(4, 1, "<=", 85, "override", score=40),
        rule(2, 2, ">", 50, "override", score=40),
    )
    # both set 40.00; rule 2 (listed first) carries 40.00 − 92.50 = −52.50
    effects = [(f["rule_id"], f["effect"]) for f in account_row(result)["exceptions"]]
    assert effects == [(2, -52.5), (4, 0.0)]


# --- Validation ---------------------------------------------------------------------------------
def validate(measures, groups, **kwargs) -> dict[int, list[str]]:
    return engine.validate_scorecard(pd.DataFrame(measures), pd.DataFrame(groups), **kwargs)


def test_validate_scorecard_accepts_a_valid_scorecard():
    measures = [
        measure(1, "adoption", 1, mapping_type="linear", lo=0.0, hi=1.0),
        measure(2, "sentiment", 1, mapping_type="steps", steps=SENTIMENT_STEPS),
    ]
    assert validate(measures, [group(1, 1)]) == {}


def test_validate_scorecard_reports_non_positive_weights():
    problems = validate([measure(1, "adoption", 0)], [group(1, -5, name="Outcomes")])
    assert problems == {
        1: [
            "group 'Outcomes': weight must be positive (is -5.0)",
            "measure 'adoption': weight must be positive (is 0.0)",
        ]
    }


def test_validate_scorecard_reports_steps_out_of_order():
    steps = [[1, 0], [3, 50], [2, 25]]
    problems = validate(
        [measure(1, "sentiment", 1, mapping_type="steps", steps=steps)], [group(1, 1)]
    )
    assert problems == {1: ["measure 'sentiment': step thresholds must be strictly ascending"]}


def test_validate_scorecard_reports_empty_steps():
    problems = validate([measure(1, "sentiment", 1, mapping_type="steps", steps=[])], [group(1, 1)])
    assert problems == {1: ["measure 'sentiment': steps are empty"]}


def test_validate_scorecard_reports_bad_linear_bounds():
    measures = [
        measure(1, "adoption", 1, mapping_type="linear", lo=5.0, hi=5.0),
        measure(2, "deployment", 1, mapping_type="linear", lo=NAN, hi=1.0),
    ]
    assert validate(measures, [group(1, 1)]) == {
        1: [
            "measure 'adoption': linear mapping needs hi different from lo",
            "measure 'deployment': linear mapping needs both lo and hi",
        ]
    }


def test_validate_scorecard_reports_unknown_mapping_type():
    problems = validate([measure(1, "nps", 1, mapping_type="log")], [group(1, 1)])
    assert problems == {1: ["measure 'nps': unknown mapping type 'log'"]}


def test_validate_scorecard_reports_group_and_scorecard_without_measures():
    problems = validate(
        [measure(1, "nps", 1, group_id=1)],
        [group(1, 1), group(2, 1, name="Relationship"), group(3, 1, scorecard_id=2)],
        scorecard_ids=[1, 2, 3],
    )
    assert problems == {
        1: ["group 'Relationship' has no measures"],
        2: ["scorecard has no measures", "group 'Group 3' has no measures"],
        3: ["scorecard has no measures"],
    }


def test_validate_scorecard_reports_bad_bands_and_exception_rules():
    bands = pd.DataFrame({"scorecard_id": [1], "label": ["Red"], "min": [0.0]})
    rules = pd.DataFrame(
        [
            rule(1, 1, "<=", 25, "cap_band", band="Purple"),
            rule(2, 1, "~", 25, "override", score=NAN),
        ]
    )
    problems = validate(
        [measure(1, "nps", 1), measure(2, "csat", 1, scorecard_id=2, group_id=2)],
        [group(1, 1), group(2, 1, scorecard_id=2)],
        bands=bands,
        exception_rules=rules,
    )
    assert problems == {
        1: [
            "exception rule 1: cap_band names unknown band 'Purple'",
            "exception rule 2: unknown op '~'",
            "exception rule 2: override needs a score within 0–100",
        ],
        2: ["scorecard has no bands"],
    }


def test_score_accounts_invalid_scorecard_sets_error_and_scores_the_others():
    result = score(
        measures=[
            measure(1, "adoption", 1, scorecard_id=1, group_id=1),
            measure(2, "nps", 0, scorecard_id=2, group_id=2),
        ],
        groups=[group(1, 1, scorecard_id=1), group(2, 1, scorecard_id=2)],
        values=[value(1, 1, 80), value(2, 2, 50)],
        assignments={1: 1, 2: 2},
    )
    broken = account_row(result, 2)
    assert (
        broken["error"] == "Scorecard 2 is invalid: measure 'nps': weight must be positive (is 0.0)"
    )
    assert (broken["band"], broken["is_scored"]) == ("Not scored", False)
    assert math.isnan(broken["overall"])
    assert (2 in set(result.measures["account_id"])) is False
    fine = account_row(result, 1)
    assert (fine["overall"], fine["error"]) == (80.0, None)


# --- Output shape and purity --------------------------------------------------------------------
def test_score_accounts_returns_the_documented_columns():
    result = rule_6_case()
    assert result.accounts.columns.tolist() == engine.ACCOUNT_COLUMNS
    assert result.groups.columns.tolist() == engine.GROUP_COLUMNS
    assert result.measures.columns.tolist() == engine.MEASURE_COLUMNS
    # one row per (account, scorecard measure) and (account, group), missing ones included
    assert (len(result.accounts), len(result.groups), len(result.measures)) == (1, 3, 4)


def test_score_accounts_without_assignments_returns_empty_frames():
    kwargs = frames(measures=[measure(1, "adoption", 1)], groups=[group(1, 1)], accounts=())
    result = engine.score_accounts(**kwargs)
    assert (len(result.accounts), len(result.groups), len(result.measures)) == (0, 0, 0)
    assert result.accounts.columns.tolist() == engine.ACCOUNT_COLUMNS


def test_score_accounts_does_not_mutate_its_inputs():
    kwargs = frames(
        measures=[measure(1, "adoption", 1), measure(2, "nps", 1, max_age_days=5)],
        groups=[group(1, 1)],
        values=[value(1, 1, 80), value(1, 2, 10, "2025-01-01"), value(2, 1, 30)],
        accounts=(1, 2),
        rules=[rule(1, 1, "<", 50, "override", score=10)],
    )
    copies = {name: frame.copy(deep=True) for name, frame in kwargs.items() if name != "as_of"}
    engine.score_accounts(**kwargs)
    for name, frame in copies.items():
        pd.testing.assert_frame_equal(kwargs[name], frame)


# --- Assignment ---------------------------------------------------------------------------------
def assignment_rule(scorecard_id, priority, *, segments=(), tiers=(), lifecycles=(), default=False):
    return {
        "scorecard_id": scorecard_id,
        "priority": priority,
        "segments": list(segments),
        "tiers": list(tiers),
        "lifecycles": list(lifecycles),
        "is_default": default,
    }


def accounts_frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["account_id", "segment", "tier", "lifecycle"])


def assigned(accounts: pd.DataFrame, *rules) -> dict[int, int]:
    result = engine.assign_scorecards(accounts, pd.DataFrame(list(rules)))
    return dict(zip(result["account_id"], result["scorecard_id"], strict=True))


def test_assign_scorecards_first_match_by_priority():
    accounts = accounts_frame(
        (1, "Enterprise", "Gold", "mature"), (2, "Enterprise", "Silver", "mature")
    )
    rules = [
        assignment_rule(2, 10, segments=["Enterprise"]),
        assignment_rule(3, 5, segments=["Enterprise"], tiers=["Gold"]),
        assignment_rule(1, 100, default=True),
    ]
    # account 1 matches 3 (priority 5) and 2 (priority 10) → 3; account 2 only matches 2
    assert assigned(accounts, *rules) == {1: 3, 2: 2}


def test_assign_scorecards_falls_back_to_default():
    accounts = accounts_frame((1, "SMB", "Bronze", "onboarding"))
    rules = [assignment_rule(2, 10, segments=["Enterprise"]), assignment_rule(1, 100, default=True)]
    assert assigned(accounts, *rules) == {1: 1}


def test_assign_scorecards_equal_priority_goes_to_lower_scorecard_id():
    accounts = accounts_frame((1, "Enterprise", "Gold", "renewing"))
    rules = [
        assignment_rule(9, 10, lifecycles=["renewing"]),
        assignment_rule(4, 10, segments=["Enterprise"]),
    ]
    assert assigned(accounts, *rules) == {1: 4}


def test_assign_scorecards_rule_with_no_criteria_matches_nothing():
    accounts = accounts_frame((1, "SMB", "Bronze", "mature"))
    rules = [assignment_rule(2, 1), assignment_rule(1, 100, default=True)]
    assert assigned(accounts, *rules) == {1: 1}


def test_assign_scorecards_without_default_leaves_unmatched_out():
    accounts = accounts_frame((1, "SMB", "Bronze", "mature"), (2, "Enterprise", "Gold", "mature"))
    rules = [assignment_rule(2, 10, segments=["Enterprise"])]
    assert assigned(accounts, *rules) == {2: 2}


# --- Rule 9: trend ------------------------------------------------------------------------------
def history_frame(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account_id", "as_of", "overall"])
    return frame.astype({"as_of": "datetime64[ns]", "overall": float})


def test_trends_compare_with_the_score_of_exactly_today_minus_n_days():
    # Rule 9/13: only the score of D − N counts; a nearer or older day is never used instead.
    current = pd.DataFrame({"account_id": [1], "overall": [80.0]})
    history = history_frame(
        (1, "2025-03-25", 60.0),  # D−6: not an anchor
        (1, "2025-03-24", 70.0),  # D−7: the 7-day anchor
        (1, "2025-03-02", 50.0),  # D−29: not an anchor
        (1, "2025-02-28", 95.0),  # D−31: not an anchor either
        (1, "2025-03-01", 90.0),  # D−30: the 30-day anchor
    )
    result = engine.trends(current, history, as_of=AS_OF).iloc[0].to_dict()
    # 80 − 70 = +10.00 up; 80 − 90 = −10.00 down; no row on D−90
    assert (result["trend_7"], result["direction_7"]) == (10.0, "up")
    assert (result["trend_30"], result["direction_30"]) == (-10.0, "down")
    assert math.isnan(result["trend_90"]) and result["direction_90"] is None


def test_trends_without_a_score_on_the_anchor_is_missing_even_with_older_ones():
    current = pd.DataFrame({"account_id": [1], "overall": [80.0]})
    history = history_frame((1, "2025-03-23", 70.0))  # D−8: not D−7
    result = engine.trends(current, history, as_of=AS_OF).iloc[0].to_dict()
    assert math.isnan(result["trend_7"]) and result["direction_7"] is None


def test_trends_without_earlier_snapshot_is_missing():
    current = pd.DataFrame({"account_id": [1], "overall": [80.0]})
    result = engine.trends(current, history_frame(), as_of=AS_OF).iloc[0].to_dict()
    assert math.isnan(result["trend_7"]) and result["direction_7"] is None


def test_trends_below_two_points_is_flat():
    current = pd.DataFrame({"account_id": [1, 2, 3, 4], "overall": [81.99, 78.01, 82.0, 78.0]})
    history = history_frame(*[(account_id, "2025-03-24", 80.0) for account_id in (1, 2, 3, 4)])
    result = engine.trends(current, history, as_of=AS_OF)
    # 81.99 − 80 = 1.99 flat; 78.01 − 80 = −1.99 flat; 82 − 80 = 2.00 up; 78 − 80 = −2.00 down
    assert result["trend_7"].tolist() == [1.99, -1.99, 2.0, -2.0]
    assert result["direction_7"].tolist() == ["flat", "flat", "up", "down"]


def test_trends_not_scored_today_is_missing():
    current = pd.DataFrame({"account_id": [1], "overall": [NAN]})
    history = history_frame((1, "2025-03-24", 80.0))
    result = engine.trends(current, history, as_of=AS_OF).iloc[0].to_dict()
    assert math.isnan(result["trend_7"]) and result["direction_7"] is None


# --- Rule 11: what changed ----------------------------------------------------------------------
def test_score_changes_lists_changes_largest_first():
    on_a = pd.DataFrame(
        {"measure_key": ["adoption", "nps", "sentiment"], "contribution": [30.0, 20.5, 10.25]}
    )
    on_b = pd.DataFrame(
        {"measure_key": ["adoption", "nps", "support"], "contribution": [35.1, 18.4, 5.0]}
    )
    changes = engine.score_changes(on_a, on_b)
    # sentiment 0 − 10.25 = −10.25; adoption 35.10 − 30.00 = +5.10; support 5.00 − 0 = +5.00;
    # nps 18.40 − 20.50 = −2.10
    expected = pd.DataFrame(
        {
            "measure_key": ["sentiment", "adoption", "support", "nps"],
            "contribution_a": [10.25, 30.0, NAN, 20.5],
            "contribution_b": [NAN, 35.1, 5.0, 18.4],
            "change": [-10.25, 5.1, 5.0, -2.1],
        }
    )
    pd.testing.assert_frame_equal(changes, expected)


def test_line_changes_are_score_changes_without_a_dataframe():
    on_a = {"adoption": 30.0, "nps": 20.5, "sentiment": 10.25, "roi": None}
    on_b = {"adoption": 35.1, "nps": 18.4, "support": 5.0, "roi": float("nan")}
    # sentiment 0 − 10.25 = −10.25; adoption 35.10 − 30.00 = +5.10; support 5.00 − 0 = +5.00;
    # nps 18.40 − 20.50 = −2.10; roi contributes nothing on either date: 0.00, listed last.
    assert engine.line_changes(on_a, on_b) == [
        ("sentiment", 10.25, None, -10.25),
        ("adoption", 30.0, 35.1, 5.1),
        ("support", None, 5.0, 5.0),
        ("nps", 20.5, 18.4, -2.1),
        ("roi", None, None, 0.0),
    ]


def test_score_changes_add_up_to_the_overall_difference():
    on_a = pd.DataFrame({"measure_key": ["a", "b", "c"], "contribution": [0.1, 0.2, 33.33]})
    on_b = pd.DataFrame({"measure_key": ["a", "b", "c"], "contribution": [0.3, 0.0, 33.34]})
    changes = engine.score_changes(on_a, on_b)
    # overall(A) = 0.10 + 0.20 + 33.33 = 33.63; overall(B) = 0.30 + 0.00 + 33.34 = 33.64
    # changes +0.20, −0.20, +0.01 add up to exactly +0.01
    assert cents_sum(changes["change"]) == Decimal("0.01")


# --- Properties ---------------------------------------------------------------------------------
scores_or_missing = st.one_of(st.none(), st.floats(min_value=0, max_value=100))
weights = st.floats(min_value=0.01, max_value=1000)
scorecard_shapes = st.lists(
    st.tuples(weights, st.lists(st.tuples(weights, scores_or_missing), min_size=1, max_size=4)),
    min_size=1,
    max_size=3,
).filter(lambda shape: any(s is not None for _, ms in shape for _, s in ms))


def score_shape(shape) -> tuple[engine.ScoringResult, list[float]]:
    """Score one account on a scorecard of direct measures (raw value = score)."""
    measures, groups, values, present = [], [], [], []
    measure_id = 0
    for group_id, (group_weight, members) in enumerate(shape, start=1):
        groups.append(group(group_id, group_weight))
        for measure_weight, measure_score in members:
            measure_id += 1
            measures.append(
                measure(measure_id, f"m{measure_id:02d}", measure_weight, group_id=group_id)
            )
            if measure_score is not None:
                values.append(value(1, measure_id, measure_score))
                present.append(measure_score)
    return score(measures=measures, groups=groups, values=values), present


@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scorecard_shapes)
def test_score_accounts_overall_lies_between_lowest_and_highest_present_score(shape):
    result, present = score_shape(shape)
    computed = account_row(result)["computed"]
    assert min(present) - 0.005 - 1e-9 <= computed <= max(present) + 0.005 + 1e-9


@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scorecard_shapes)
def test_score_accounts_rounded_contributions_add_up_to_computed(shape):
    result, _ = score_shape(shape)
    assert cents_sum(contributions(result).values()) == Decimal(
        str(account_row(result)["computed"])
    )


def test_score_accounts_many_accounts_keep_the_invariants():
    rng = np.random.default_rng(7)
    n_accounts, n_measures = 20_000, 10
    measures = [
        measure(
            m,
            f"m{m:02d}",
            float(rng.integers(1, 60)),
            group_id=1 + m % 3,
            mapping_type="steps" if m % 4 == 0 else "direct",
            steps=SENTIMENT_STEPS if m % 4 == 0 else None,
            max_age_days=20,
        )
        for m in range(1, n_measures + 1)
    ]
    groups = [group(g, float(rng.integers(1, 50))) for g in (1, 2, 3)]
    rows = n_accounts * n_measures * 3
    values = pd.DataFrame(
        {
            "account_id": rng.integers(1, n_accounts + 1, rows),
            "measure_id": rng.integers(1, n_measures + 1, rows),
            "raw_value": rng.uniform(-10, 110, rows),
            "as_of": pd.Timestamp("2025-02-01") + pd.to_timedelta(rng.integers(0, 70, rows), "D"),
            "value_id": rng.permutation(rows),
        }
    )
    kwargs = frames(measures=measures, groups=groups, accounts=range(1, n_accounts + 1))
    result = engine.score_accounts(**{**kwargs, "values": values})

    assert (len(result.accounts), len(result.measures)) == (n_accounts, n_accounts * n_measures)
    scored = result.accounts[result.accounts["is_scored"]].set_index("account_id")
    present = result.measures[result.measures["is_present"]]
    cents = (result.measures["contribution"] * 100).round().astype(int)
    total = cents.groupby(result.measures["account_id"]).sum()
    assert (total.loc[scored.index] == (scored["computed"] * 100).round().astype(int)).all()
    lowest = present.groupby("account_id")["score"].min().loc[scored.index]
    highest = present.groupby("account_id")["score"].max().loc[scored.index]
    assert (scored["computed"] >= lowest - 0.01).all()
    assert (scored["computed"] <= highest + 0.01).all()
    assert result.accounts["coverage"].between(0, 1).all()
    assert not result.measures.loc[result.measures["is_stale"], "is_present"].any()
