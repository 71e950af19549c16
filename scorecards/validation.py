"""The rules a scorecard definition must follow, as pure functions.

Shared by the admin forms and the API serializers, so that one rule gives one message
wherever a scorecard is edited. No ORM: callers pass plain values (and, for exception
rules, the labels of the bands being saved). Every function returns a list of
human-readable errors; an empty list means valid. The `*_by_field` variants return the
same errors keyed by the field at fault (model field names), for forms and serializers that
attach errors to fields.
"""

import math
from collections import Counter
from collections.abc import Collection
from decimal import Decimal
from numbers import Number

from scorecards.choices import BandTier, ExceptionAction, MappingType

SCORE_MIN = 0
SCORE_MAX = 100


def _is_number(value: object) -> bool:
    """A finite int, float or Decimal; booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, Number | Decimal):
        return False
    return math.isfinite(value)


def _format_number(value: Number | Decimal) -> str:
    """75, not 75.00; 0.5, not 0.50."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return f"{value:g}"


def _quoted(labels: Collection[str]) -> str:
    return ", ".join(f"“{label}”" for label in labels)


def _flatten(errors_by_field: dict[str, list[str]]) -> list[str]:
    return [message for messages in errors_by_field.values() for message in messages]


def bands_validate(bands: list[tuple[str, Decimal]]) -> list[str]:
    """PRODUCT.md rule 7: bands are ordered lower bounds on the overall score.

    bands: (label, min) pairs in any order. Valid when there is at least one band, labels are
    non-empty and unique, mins are numbers within 0–100 and unique (lower bounds must be
    strictly increasing once sorted), and the lowest min is exactly 0 so that every score
    falls in a band.
    """
    if not bands:
        return ["A scorecard needs at least one band; the lowest one starts at 0."]
    errors = []
    labels = [label.strip() if isinstance(label, str) else "" for label, _ in bands]
    if "" in labels:
        errors.append("Every band needs a label.")
    label_counts = Counter(label for label in labels if label)
    for label, count in label_counts.items():
        if count > 1:
            errors.append(f"Band labels must be unique: “{label}” is used {count} times.")

    mins = []
    for label, minimum in bands:
        if not _is_number(minimum):
            errors.append(f"Band “{label}”: the minimum must be a number, not {minimum!r}.")
        elif not SCORE_MIN <= minimum <= SCORE_MAX:
            errors.append(
                f"Band “{label}”: the minimum must be between {SCORE_MIN} and {SCORE_MAX}, "
                f"not {_format_number(minimum)}."
            )
        else:
            mins.append((minimum, label))
    if len(mins) < len(bands):
        return errors

    by_min: dict[Decimal, list[str]] = {}
    for minimum, label in sorted(mins, key=lambda pair: pair[0]):
        by_min.setdefault(minimum, []).append(label)
    for minimum, clashing in by_min.items():
        if len(clashing) > 1:
            errors.append(
                f"Bands {_quoted(clashing)} have the same minimum {_format_number(minimum)}; "
                "each band needs its own lower bound."
            )
    lowest, lowest_labels = next(iter(by_min.items()))
    if lowest != 0:
        errors.append(
            f"The lowest band must start at 0 so that every score has a band: "
            f"{_quoted(lowest_labels)} starts at {_format_number(lowest)}."
        )
    return errors


def band_tiers_default(mins: list[Decimal | float]) -> list[str]:
    """PRODUCT.md "Portfolio tiers": the default tier of each band, in the order given — the
    lowest band at_risk, the highest healthy, the rest watch. A scorecard of one band has
    neither a worse nor a better band, so that band is watch."""
    if len(mins) < 2:
        return [BandTier.WATCH for _ in mins]
    lowest, highest = min(mins), max(mins)
    return [
        BandTier.AT_RISK
        if minimum == lowest
        else BandTier.HEALTHY
        if minimum == highest
        else BandTier.WATCH
        for minimum in mins
    ]


def band_tiers_validate(bands: list[tuple[str, object]]) -> list[str]:
    """PRODUCT.md "Portfolio tiers": every band's tier is healthy, watch or at_risk.
    bands: (label, tier) pairs."""
    return [
        f"Band “{label}”: the tier must be one of {', '.join(BandTier.values)}, not {tier!r}."
        for label, tier in bands
        if tier not in BandTier.values
    ]


def _steps_errors(steps: object) -> list[str]:
    if not isinstance(steps, list | tuple) or not steps:
        return [
            "Steps must be a non-empty list of [threshold, score] pairs, e.g. [[1, 0], [5, 100]]."
        ]
    errors = []
    thresholds = []
    for position, step in enumerate(steps, start=1):
        if (
            not isinstance(step, list | tuple)
            or len(step) != 2
            or not all(_is_number(number) for number in step)
        ):
            errors.append(
                f"Step {position} must be a [threshold, score] pair of numbers, not {step!r}."
            )
            continue
        threshold, score = step
        if not SCORE_MIN <= score <= SCORE_MAX:
            errors.append(
                f"Step {position}: the score must be between {SCORE_MIN} and {SCORE_MAX}, "
                f"not {_format_number(score)}."
            )
        if thresholds and threshold <= thresholds[-1]:
            errors.append(
                f"Step {position}: thresholds must be strictly ascending; "
                f"{_format_number(threshold)} does not follow {_format_number(thresholds[-1])}."
            )
        thresholds.append(threshold)
    return errors


def mapping_validate_by_field(
    *,
    mapping_type: str,
    lo: float | None,
    hi: float | None,
    higher_is_better: bool,
    steps: object,
) -> dict[str, list[str]]:
    """PRODUCT.md rule 1: a mapping from raw value to 0–100 carries its own parameters only.

    `direct` takes none; `linear` needs numbers lo and hi with hi ≠ lo and a boolean
    higher_is_better; `steps` needs a non-empty list of [threshold, score] pairs with strictly
    ascending thresholds and scores within 0–100. Returns errors keyed by the field at fault
    (mapping_type, lo, hi, higher_is_better, steps); an empty dict means valid.
    """
    errors: dict[str, list[str]] = {}
    article = {
        MappingType.DIRECT: "A direct",
        MappingType.LINEAR: "A linear",
        MappingType.STEPS: "A steps",
    }

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if mapping_type not in MappingType.values:
        add(
            "mapping_type",
            f"Unknown mapping type {mapping_type!r}; use one of {MappingType.values}.",
        )
        return errors

    if mapping_type == MappingType.LINEAR:
        for field, value in (("lo", lo), ("hi", hi)):
            if value is None:
                scored = "0" if field == "lo" else "100"
                add(field, f"A linear mapping needs {field}: the raw value scored {scored}.")
            elif not _is_number(value):
                add(field, f"{field} must be a number, not {value!r}.")
        if "lo" not in errors and "hi" not in errors and lo == hi:
            add("hi", f"hi must differ from lo (both are {_format_number(lo)}).")
        if not isinstance(higher_is_better, bool):
            add("higher_is_better", "higher_is_better must be true or false.")
    else:
        for field, value in (("lo", lo), ("hi", hi)):
            if value is not None:
                add(field, f"{article[mapping_type]} mapping takes no {field}; clear it.")

    if mapping_type == MappingType.STEPS:
        step_errors = _steps_errors(steps)
        if step_errors:
            errors["steps"] = step_errors
    elif steps not in (None, [], ()):
        add("steps", f"{article[mapping_type]} mapping takes no steps; clear them.")
    return errors


def mapping_validate(
    *,
    mapping_type: str,
    lo: float | None,
    hi: float | None,
    higher_is_better: bool,
    steps: object,
) -> list[str]:
    """The errors of `mapping_validate_by_field`, as one list."""
    return _flatten(
        mapping_validate_by_field(
            mapping_type=mapping_type,
            lo=lo,
            hi=hi,
            higher_is_better=higher_is_better,
            steps=steps,
        )
    )


def weight_validate(weight: object) -> list[str]:
    """PRODUCT.md rule 10: weights are positive numbers (they need not add up to 100)."""
    if weight is None or weight == "":
        return ["A weight is required."]
    if not _is_number(weight):
        return [f"The weight must be a number, not {weight!r}."]
    if weight <= 0:
        return [f"The weight must be positive, not {_format_number(weight)}."]
    return []


def exception_validate_by_field(
    *,
    action: str,
    band: str | None,
    score: object,
    band_labels: Collection[str],
) -> dict[str, list[str]]:
    """PRODUCT.md "Exception": an action carries exactly the parameter it needs.

    `cap_band` names one of `band_labels` (the scorecard's bands) and carries no score;
    `override` carries a score within 0–100 and no band; `flag` carries neither. Returns
    errors keyed by the field at fault (action, band, score).
    """
    errors: dict[str, list[str]] = {}
    if action not in ExceptionAction.values:
        errors["action"] = [f"Unknown action {action!r}; use one of {ExceptionAction.values}."]
        return errors
    band = (band or "").strip()

    if action == ExceptionAction.CAP_BAND:
        if not band:
            errors["band"] = ["A cap_band rule needs the band to cap at."]
        elif band not in band_labels:
            known = _quoted(sorted(band_labels)) or "none yet"
            errors["band"] = [f"“{band}” is not one of this scorecard's bands ({known})."]
    elif band:
        errors["band"] = [f"Only a cap_band rule names a band; clear it for {action}."]

    if action == ExceptionAction.OVERRIDE:
        if score is None or score == "":
            errors["score"] = ["An override rule needs the score to set (0–100)."]
        elif not _is_number(score):
            errors["score"] = [f"The override score must be a number, not {score!r}."]
        elif not SCORE_MIN <= score <= SCORE_MAX:
            errors["score"] = [
                f"The override score must be between {SCORE_MIN} and {SCORE_MAX}, "
                f"not {_format_number(score)}."
            ]
    elif score is not None and score != "":
        errors["score"] = [f"Only an override rule carries a score; clear it for {action}."]
    return errors


def exception_validate(
    *, action: str, band: str | None, score: object, band_labels: Collection[str]
) -> list[str]:
    """The errors of `exception_validate_by_field`, as one list."""
    return _flatten(
        exception_validate_by_field(action=action, band=band, score=score, band_labels=band_labels)
    )


SOURCE_AGGREGATES = ("sum", "avg", "min", "max", "last", "days_with_value")
SOURCE_FIELDS = ("metric", "aggregate", "window_days", "per", "change")
PER_FIELDS = ("metric", "aggregate", "window_days")
MAX_WINDOW_DAYS = 366


def _window_errors(source: dict, path: str, metric_keys: Collection[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    metric = source.get("metric")
    if not isinstance(metric, str) or not metric:
        errors[f"{path}metric"] = ["Name the metric to compute from (its key)."]
    elif metric not in metric_keys:
        errors[f"{path}metric"] = [f"No metric with key “{metric}”; declare it first."]
    aggregate = source.get("aggregate")
    if aggregate not in SOURCE_AGGREGATES:
        errors[f"{path}aggregate"] = [
            f"Unknown aggregate {aggregate!r}; use one of {', '.join(SOURCE_AGGREGATES)}."
        ]
    days = source.get("window_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
        errors[f"{path}window_days"] = [
            f"window_days must be a whole number of days from 1 to {MAX_WINDOW_DAYS}, not {days!r}."
        ]
    return errors


def measure_source_validate_by_field(
    source: object, *, metric_keys: Collection[str]
) -> dict[str, list[str]]:
    """PRODUCT.md "Derived measure": a `source` names a declared metric, an aggregate and a
    window of 1–366 days, and optionally `per` (a metric, an aggregate — default last — and a
    window — default 1 day) and `change` (true or false). None means a pushed measure.
    Returns errors keyed by the field at fault ("metric", "per.window_days" …)."""
    if source is None:
        return {}
    if not isinstance(source, dict):
        return {"": ['source must be an object, e.g. {"metric": "logins", …}, or null.']}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(source) - set(SOURCE_FIELDS)):
        errors[name] = [f"Unknown field “{name}”; a source has {', '.join(SOURCE_FIELDS)}."]
    errors.update(_window_errors(source, "", metric_keys))
    per = source.get("per")
    if per is not None:
        if not isinstance(per, dict):
            errors["per"] = ["per must be an object with metric, aggregate and window_days."]
        else:
            for name in sorted(set(per) - set(PER_FIELDS)):
                errors[f"per.{name}"] = [
                    f"Unknown field “{name}”; per has {', '.join(PER_FIELDS)}."
                ]
            filled = {"aggregate": "last", "window_days": 1, **per}
            errors.update(_window_errors(filled, "per.", metric_keys))
    change = source.get("change", False)
    if not isinstance(change, bool):
        errors["change"] = ["change must be true or false."]
    return errors


def measure_source_normalize(source: dict | None) -> dict | None:
    """A valid source with every field spelled out (per's defaults, change false); None stays
    None. The form stored on the measure and shown in documents."""
    if not source:
        return None
    normal = {
        "metric": source["metric"],
        "aggregate": source["aggregate"],
        "window_days": source["window_days"],
    }
    per = source.get("per")
    if per:
        normal["per"] = {
            "metric": per["metric"],
            "aggregate": per.get("aggregate", "last"),
            "window_days": per.get("window_days", 1),
        }
    normal["change"] = bool(source.get("change", False))
    return normal
