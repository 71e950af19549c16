"""A scorecard as one JSON document, in the shape of PRODUCT.md's "API shapes".

The document is what a ScorecardVersion stores, what the admin exports and what the API
reads and writes. Numbers are JSON numbers: whole values as integers (50, not 50.00),
others as floats; `min_coverage` is a share, always a float.
"""

import math
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch

from scorecards.choices import ExceptionAction, MappingType
from scorecards.models import Measure, Scorecard, ScorecardMeasure
from scorecards.validation import band_tiers_default, measure_source_normalize


def _number(value: Decimal | float | int | None) -> int | float | None:
    """50 for Decimal("50.00") or 50.0; 0.8 for Decimal("0.80"); None stays None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Decimal | float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _mapping(
    *, mapping_type: str, lo: Any, hi: Any, higher_is_better: Any, steps: Any
) -> dict[str, Any]:
    """The `mapping` object: the type and the parameters of that type only."""
    if mapping_type == MappingType.LINEAR:
        return {
            "type": mapping_type,
            "lo": _number(lo),
            "hi": _number(hi),
            "higher_is_better": higher_is_better,
        }
    if mapping_type == MappingType.STEPS:
        return {
            "type": mapping_type,
            "steps": [[_number(threshold), _number(score)] for threshold, score in steps or []],
        }
    return {"type": mapping_type}


def _source(source: dict[str, Any] | None) -> dict[str, Any]:
    """`{"source": …}` for a derived measure, every field spelled out; nothing for a pushed
    one, so documents of scorecards without derived measures keep their shape."""
    normal = measure_source_normalize(source)
    return {} if normal is None else {"source": normal}


def _exception(
    *, measure: str, op: str, value: Any, action: str, band: Any, score: Any, reason: str
) -> dict[str, Any]:
    """An exception rule: `band` only for cap_band, `score` only for override."""
    document: dict[str, Any] = {
        "measure": measure,
        "op": op,
        "value": _number(value),
        "action": action,
    }
    if action == ExceptionAction.CAP_BAND:
        document["band"] = band
    if action == ExceptionAction.OVERRIDE:
        document["score"] = _number(score)
    document["reason"] = reason
    return document


def measure_document_fields(measure: Measure) -> dict[str, Any]:
    """What a measure row puts into every scorecard document that uses it: kind, mapping, max
    age and, for a derived measure, its source (the key, name and weight are placed around
    them by the caller; the name comes first in the document)."""
    return {
        "kind": measure.kind,
        "mapping": _mapping(
            mapping_type=measure.mapping_type,
            lo=measure.lo,
            hi=measure.hi,
            higher_is_better=measure.higher_is_better,
            steps=measure.steps,
        ),
        "max_age_days": measure.max_age_days,
        **_source(measure.source),
    }


def scorecard_to_document(scorecard: Scorecard) -> dict[str, Any]:
    """The scorecard's current definition as a JSON-ready dict (four queries).

    Bands are ordered by their minimum, groups and their measures by position, exception
    rules by creation. The scorecard's description and each measure's description are not
    part of the document.
    """
    members = ScorecardMeasure.objects.select_related("measure").order_by("position", "id")
    groups = scorecard.groups.order_by("position", "id").prefetch_related(
        Prefetch("members", queryset=members)
    )
    return {
        "name": scorecard.name,
        "is_default": scorecard.is_default,
        "min_coverage": float(scorecard.min_coverage),
        "assignment": {
            "priority": scorecard.priority,
            "segment": list(scorecard.segments),
            "tier": list(scorecard.tiers),
            "lifecycle": list(scorecard.lifecycles),
        },
        "bands": [
            {
                "label": band.label,
                "min": _number(band.min_score),
                "color": band.color,
                "tier": band.tier,
            }
            for band in scorecard.bands.order_by("min_score")
        ],
        "groups": [
            {
                "name": group.name,
                "weight": _number(group.weight),
                "measures": [
                    {
                        "key": member.measure.key,
                        "name": member.measure.name,
                        "weight": _number(member.weight),
                        **measure_document_fields(member.measure),
                    }
                    for member in group.members.all()
                ],
            }
            for group in groups
        ],
        "exceptions": [
            _exception(
                measure=rule.measure.key,
                op=rule.op,
                value=rule.value,
                action=rule.action,
                band=rule.band,
                score=rule.score,
                reason=rule.reason,
            )
            for rule in scorecard.exceptions.select_related("measure").order_by("id")
        ],
    }


def document_bands_with_tiers(bands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A document's bands ordered by their minimum, each with its tier: the one given, else
    the default (`band_tiers_default`), so that documents written before bands had tiers
    read as the migration left their bands. Not mutated."""
    ordered = sorted(bands, key=lambda band: band["min"])
    defaults = band_tiers_default([band["min"] for band in ordered])
    return [
        {
            "label": band["label"],
            "min": _number(band["min"]),
            "color": band["color"],
            "tier": band.get("tier") or default,
        }
        for band, default in zip(ordered, defaults, strict=True)
    ]


def scorecard_document_normalize(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document reduced to the contract's fields, with numbers as `_number` makes them.

    Versions written before a field left the contract (version 1 of the default scorecard
    carries measure descriptions) then compare equal to `scorecard_to_document` of the same
    definition. Input: a document in the PRODUCT.md shape; it is not mutated.
    """
    assignment = document.get("assignment", {})
    return {
        "name": document["name"],
        "is_default": document["is_default"],
        "min_coverage": float(document["min_coverage"]),
        "assignment": {
            "priority": assignment.get("priority"),
            "segment": list(assignment.get("segment", [])),
            "tier": list(assignment.get("tier", [])),
            "lifecycle": list(assignment.get("lifecycle", [])),
        },
        "bands": document_bands_with_tiers(document.get("bands", [])),
        "groups": [
            {
                "name": group["name"],
                "weight": _number(group["weight"]),
                "measures": [
                    {
                        "key": measure["key"],
                        "name": measure["name"],
                        "weight": _number(measure["weight"]),
                        "kind": measure["kind"],
                        "mapping": _mapping(
                            mapping_type=measure["mapping"]["type"],
                            lo=measure["mapping"].get("lo"),
                            hi=measure["mapping"].get("hi"),
                            higher_is_better=measure["mapping"].get("higher_is_better", True),
                            steps=measure["mapping"].get("steps"),
                        ),
                        "max_age_days": measure.get("max_age_days"),
                        **_source(measure.get("source")),
                    }
                    for measure in group.get("measures", [])
                ],
            }
            for group in document.get("groups", [])
        ],
        "exceptions": [
            _exception(
                measure=rule["measure"],
                op=rule["op"],
                value=rule["value"],
                action=rule["action"],
                band=rule.get("band", ""),
                score=rule.get("score"),
                reason=rule["reason"],
            )
            for rule in document.get("exceptions", [])
        ],
    }
