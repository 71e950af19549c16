from decimal import Decimal

import pytest

from scorecards.validation import (
    bands_validate,
    exception_validate,
    exception_validate_by_field,
    mapping_validate,
    mapping_validate_by_field,
    weight_validate,
)

DEFAULT_BANDS = [("Red", Decimal("0")), ("Yellow", Decimal("50")), ("Green", Decimal("75"))]


def _linear(**overrides):
    mapping = {"mapping_type": "linear", "lo": 0, "hi": 1, "higher_is_better": True, "steps": None}
    return {**mapping, **overrides}


def _steps(steps):
    return {
        "mapping_type": "steps",
        "lo": None,
        "hi": None,
        "higher_is_better": True,
        "steps": steps,
    }


# bands_validate


def test_bands_validate_default_bands_are_valid():
    assert bands_validate(DEFAULT_BANDS) == []


def test_bands_validate_accepts_bands_in_any_order():
    assert bands_validate(list(reversed(DEFAULT_BANDS))) == []


def test_bands_validate_accepts_a_single_band_at_zero():
    assert bands_validate([("All", Decimal("0"))]) == []


def test_bands_validate_needs_a_band():
    assert bands_validate([]) == [
        "A scorecard needs at least one band; the lowest one starts at 0."
    ]


def test_bands_validate_lowest_band_starts_at_zero():
    bands = [("Red", Decimal("10")), ("Yellow", Decimal("50")), ("Green", Decimal("75"))]
    assert bands_validate(bands) == [
        "The lowest band must start at 0 so that every score has a band: “Red” starts at 10."
    ]


def test_bands_validate_duplicate_mins_name_the_clashing_labels():
    bands = [("Red", Decimal("0")), ("Yellow", Decimal("75.00")), ("Green", Decimal("75"))]
    assert bands_validate(bands) == [
        "Bands “Yellow”, “Green” have the same minimum 75; each band needs its own lower bound."
    ]


def test_bands_validate_duplicate_labels():
    bands = [("Red", Decimal("0")), ("Red", Decimal("50"))]
    assert bands_validate(bands) == ["Band labels must be unique: “Red” is used 2 times."]


def test_bands_validate_labels_are_compared_without_surrounding_spaces():
    bands = [("Red", Decimal("0")), (" Red ", Decimal("50"))]
    assert bands_validate(bands) == ["Band labels must be unique: “Red” is used 2 times."]


def test_bands_validate_empty_label():
    assert bands_validate([("Red", Decimal("0")), ("  ", Decimal("50"))]) == [
        "Every band needs a label."
    ]


def test_bands_validate_min_above_100():
    bands = [("Red", Decimal("0")), ("Green", Decimal("100.5"))]
    assert bands_validate(bands) == [
        "Band “Green”: the minimum must be between 0 and 100, not 100.5."
    ]


def test_bands_validate_negative_min():
    bands = [("Red", Decimal("-5")), ("Green", Decimal("50"))]
    assert bands_validate(bands) == ["Band “Red”: the minimum must be between 0 and 100, not -5."]


def test_bands_validate_min_must_be_a_number():
    assert bands_validate([("Red", "zero")]) == [
        "Band “Red”: the minimum must be a number, not 'zero'."
    ]


def test_bands_validate_min_of_100_is_allowed():
    assert bands_validate([("Red", Decimal("0")), ("Perfect", Decimal("100"))]) == []


# mapping_validate


def test_mapping_validate_linear_is_valid():
    assert mapping_validate(**_linear()) == []


def test_mapping_validate_linear_lower_is_better_is_valid():
    assert mapping_validate(**_linear(lo=0, hi=20, higher_is_better=False)) == []


def test_mapping_validate_linear_needs_lo_and_hi():
    assert mapping_validate_by_field(**_linear(lo=None, hi=None)) == {
        "lo": ["A linear mapping needs lo: the raw value scored 0."],
        "hi": ["A linear mapping needs hi: the raw value scored 100."],
    }


def test_mapping_validate_linear_hi_must_differ_from_lo():
    assert mapping_validate_by_field(**_linear(lo=5, hi=5.0)) == {
        "hi": ["hi must differ from lo (both are 5)."]
    }


def test_mapping_validate_linear_takes_no_steps():
    assert mapping_validate_by_field(**_linear(steps=[[0, 0]])) == {
        "steps": ["A linear mapping takes no steps; clear them."]
    }


def test_mapping_validate_linear_higher_is_better_must_be_a_boolean():
    assert mapping_validate(**_linear(higher_is_better="yes")) == [
        "higher_is_better must be true or false."
    ]


def test_mapping_validate_steps_is_valid():
    assert mapping_validate(**_steps([[1, 0], [2, 25], [3, 50], [4, 75], [5, 100]])) == []


def test_mapping_validate_steps_accept_decimal_thresholds():
    assert mapping_validate(**_steps([[0.5, 10], [Decimal("1.5"), 90]])) == []


@pytest.mark.parametrize("steps", [None, [], "[[1, 0]]", {"1": 0}])
def test_mapping_validate_steps_must_be_a_non_empty_list(steps):
    assert mapping_validate_by_field(**_steps(steps)) == {
        "steps": [
            "Steps must be a non-empty list of [threshold, score] pairs, e.g. [[1, 0], [5, 100]]."
        ]
    }


def test_mapping_validate_steps_must_be_pairs_of_numbers():
    assert mapping_validate(**_steps([[1, 0], [2], [3, "50"], [True, 75]])) == [
        "Step 2 must be a [threshold, score] pair of numbers, not [2].",
        "Step 3 must be a [threshold, score] pair of numbers, not [3, '50'].",
        "Step 4 must be a [threshold, score] pair of numbers, not [True, 75].",
    ]


def test_mapping_validate_steps_thresholds_strictly_ascending():
    assert mapping_validate(**_steps([[1, 0], [3, 50], [3, 60], [2, 100]])) == [
        "Step 3: thresholds must be strictly ascending; 3 does not follow 3.",
        "Step 4: thresholds must be strictly ascending; 2 does not follow 3.",
    ]


def test_mapping_validate_steps_scores_within_0_100():
    assert mapping_validate(**_steps([[1, -1], [2, 101]])) == [
        "Step 1: the score must be between 0 and 100, not -1.",
        "Step 2: the score must be between 0 and 100, not 101.",
    ]


def test_mapping_validate_steps_reject_non_finite_numbers():
    assert mapping_validate(**_steps([[float("nan"), 0]])) == [
        "Step 1 must be a [threshold, score] pair of numbers, not [nan, 0]."
    ]


def test_mapping_validate_steps_take_no_lo_or_hi():
    assert mapping_validate_by_field(
        mapping_type="steps", lo=0, hi=1, higher_is_better=True, steps=[[0, 0]]
    ) == {
        "lo": ["A steps mapping takes no lo; clear it."],
        "hi": ["A steps mapping takes no hi; clear it."],
    }


def test_mapping_validate_direct_is_valid():
    assert (
        mapping_validate(mapping_type="direct", lo=None, hi=None, higher_is_better=True, steps=None)
        == []
    )


def test_mapping_validate_direct_takes_no_parameters():
    assert mapping_validate_by_field(
        mapping_type="direct", lo=0, hi=100, higher_is_better=True, steps=[[0, 0]]
    ) == {
        "lo": ["A direct mapping takes no lo; clear it."],
        "hi": ["A direct mapping takes no hi; clear it."],
        "steps": ["A direct mapping takes no steps; clear them."],
    }


def test_mapping_validate_unknown_type():
    assert mapping_validate(
        mapping_type="log", lo=None, hi=None, higher_is_better=True, steps=None
    ) == ["Unknown mapping type 'log'; use one of ['direct', 'linear', 'steps']."]


# weight_validate


@pytest.mark.parametrize("weight", [Decimal("0.01"), Decimal("50"), 1, 2.5])
def test_weight_validate_positive_weights_are_valid(weight):
    assert weight_validate(weight) == []


def test_weight_validate_zero():
    assert weight_validate(Decimal("0.00")) == ["The weight must be positive, not 0."]


def test_weight_validate_negative():
    assert weight_validate(Decimal("-10")) == ["The weight must be positive, not -10."]


def test_weight_validate_missing():
    assert weight_validate(None) == ["A weight is required."]


def test_weight_validate_not_a_number():
    assert weight_validate("heavy") == ["The weight must be a number, not 'heavy'."]


# exception_validate

BAND_LABELS = {"Red", "Yellow", "Green"}


def test_exception_validate_flag_is_valid():
    assert exception_validate(action="flag", band="", score=None, band_labels=BAND_LABELS) == []


def test_exception_validate_cap_band_is_valid():
    assert (
        exception_validate(action="cap_band", band="Red", score=None, band_labels=BAND_LABELS) == []
    )


def test_exception_validate_override_is_valid():
    assert (
        exception_validate(action="override", band="", score=Decimal("20"), band_labels=BAND_LABELS)
        == []
    )


def test_exception_validate_cap_band_names_an_unknown_band():
    assert exception_validate_by_field(
        action="cap_band", band="Purple", score=None, band_labels=BAND_LABELS
    ) == {"band": ["“Purple” is not one of this scorecard's bands (“Green”, “Red”, “Yellow”)."]}


def test_exception_validate_cap_band_needs_a_band():
    assert exception_validate_by_field(
        action="cap_band", band="", score=None, band_labels=BAND_LABELS
    ) == {"band": ["A cap_band rule needs the band to cap at."]}


def test_exception_validate_cap_band_carries_no_score():
    assert exception_validate_by_field(
        action="cap_band", band="Red", score=Decimal("10"), band_labels=BAND_LABELS
    ) == {"score": ["Only an override rule carries a score; clear it for cap_band."]}


def test_exception_validate_flag_carries_no_score():
    assert exception_validate_by_field(
        action="flag", band="", score=Decimal("0"), band_labels=BAND_LABELS
    ) == {"score": ["Only an override rule carries a score; clear it for flag."]}


def test_exception_validate_flag_names_no_band():
    assert exception_validate_by_field(
        action="flag", band="Red", score=None, band_labels=BAND_LABELS
    ) == {"band": ["Only a cap_band rule names a band; clear it for flag."]}


def test_exception_validate_override_needs_a_score():
    assert exception_validate_by_field(
        action="override", band="", score=None, band_labels=BAND_LABELS
    ) == {"score": ["An override rule needs the score to set (0–100)."]}


def test_exception_validate_override_score_within_0_100():
    assert exception_validate_by_field(
        action="override", band="", score=Decimal("120"), band_labels=BAND_LABELS
    ) == {"score": ["The override score must be between 0 and 100, not 120."]}


def test_exception_validate_override_score_must_be_a_number():
    assert exception_validate_by_field(
        action="override", band="", score="high", band_labels=BAND_LABELS
    ) == {"score": ["The override score must be a number, not 'high'."]}
