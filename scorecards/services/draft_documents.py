"""A draft is a whole scorecard document (PRODUCT.md "API shapes"): its problems, checked as
the config-as-code path checks a document, and its definition as the engine's frames, so that
a draft of any kind (weights, measures, mappings, bands, exceptions, assignment) can be
previewed and backtested before anyone publishes it.

A draft may break rules while it is being edited: it is saved all the same, and its problems
are listed; only a draft without problems can be published.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pandas as pd

from scorecards import engine, selectors
from scorecards.learning.backtest import Definition
from scorecards.models import Measure, Scorecard


def draft_problems(*, document: Any, scorecard: Scorecard) -> dict[str, list[str]]:
    """Every problem of a draft's document, keyed by its path ("groups.0.weight"), in the
    words of the API and the admin: first the shape (types, required fields), then the rules
    of `scorecard_document_errors`. Empty when it may be published. Reads only."""
    from scorecards.api.serializers import ScorecardDocumentSerializer
    from scorecards.services.ingestion import scorecard_document_errors

    if not isinstance(document, dict):
        return {"document": ["A draft is a scorecard document: a JSON object."]}
    shape = ScorecardDocumentSerializer(data=document)
    if not shape.is_valid():
        return _flatten(shape.errors)
    return scorecard_document_errors(document=shape.validated_data, scorecard=scorecard)


def draft_document_edit(
    document: dict,
    *,
    weights: dict[tuple[int, ...], Any] | None = None,
    band_tiers: dict[int, Any] | None = None,
    sources: dict[tuple[int, int], Any] | None = None,
) -> dict:
    """A copy of a draft's document with the draft editor's fields applied, each by position:
    ``weights`` by (group,) or (group, measure); ``band_tiers`` by band, a blank tier leaving
    the band to its default by position; ``sources`` by (group, measure), None making the
    measure pushed again. Values go in as given, so that draft_problems names whatever is
    wrong with them as it does for the JSON document; a position the document does not have
    is skipped (the JSON was edited to remove it). The input is not mutated."""
    document = copy.deepcopy(document)
    groups = _items(document.get("groups"))
    for path, weight in (weights or {}).items():
        target = _at(groups, path[0])
        if len(path) == 2 and target is not None:
            target = _at(_items(target.get("measures")), path[1])
        if target is not None:
            target["weight"] = weight
    bands = _items(document.get("bands"))
    for position, tier in (band_tiers or {}).items():
        band = _at(bands, position)
        if band is not None and tier in ("", None):
            band.pop("tier", None)
        elif band is not None:
            band["tier"] = tier
    for (g, m), source in (sources or {}).items():
        group = _at(groups, g)
        measure = _at(_items(group.get("measures")), m) if group is not None else None
        if measure is not None and source is None:
            measure.pop("source", None)
        elif measure is not None:
            measure["source"] = copy.deepcopy(source)
    return document


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def _at(items: list, position: int) -> dict | None:
    """The object at a position of a document's list, or None (out of range, not an object)."""
    item = items[position] if 0 <= position < len(items) else None
    return item if isinstance(item, dict) else None


def draft_document_clean(*, document: dict) -> dict:
    """The document as the API's serializer reads it (defaults filled in); call only on a
    document without problems."""
    from scorecards.api.serializers import ScorecardDocumentSerializer

    shape = ScorecardDocumentSerializer(data=document)
    shape.is_valid(raise_exception=True)
    return shape.validated_data


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            errors.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(detail, list) and detail and not all(isinstance(item, str) for item in detail):
        for index, value in enumerate(detail):
            if value:
                errors.update(_flatten(value, f"{prefix}{index}."))
    else:
        messages = detail if isinstance(detail, list) else [detail]
        errors[prefix.rstrip(".") or "document"] = [str(message) for message in messages]
    return errors


def document_definition(*, document: dict, scorecard_id: int) -> Definition:
    """A (problem-free) document as the engine's frames for scorecard ``scorecard_id``.

    Measures are the product's measures by key (so their values count); a key that does not
    exist yet gets a negative id, which no value has. Groups and exception rules get ids of
    their own (negative, so they never meet a stored one)."""
    document = draft_document_clean(document=document)
    ids = dict(Measure.objects.values_list("key", "pk"))
    new_keys = [
        measure["key"]
        for group in document["groups"]
        for measure in group["measures"]
        if measure["key"] not in ids
    ]
    ids.update({key: -(position + 1) for position, key in enumerate(new_keys)})
    groups, measures = [], []
    for position, group in enumerate(document["groups"]):
        group_id = -(position + 1)
        groups.append(
            {
                engine.SCORECARD_ID: scorecard_id,
                engine.GROUP_ID: group_id,
                engine.GROUP_NAME: group["name"],
                engine.WEIGHT: float(group["weight"]),
                engine.POSITION: position,
            }
        )
        for index, measure in enumerate(group["measures"]):
            mapping = measure["mapping"]
            measures.append(
                {
                    engine.SCORECARD_ID: scorecard_id,
                    engine.GROUP_ID: group_id,
                    engine.MEASURE_ID: ids[measure["key"]],
                    engine.MEASURE_KEY: measure["key"],
                    engine.WEIGHT: float(measure["weight"]),
                    engine.MAPPING_TYPE: mapping["type"],
                    engine.LO: _float(mapping.get("lo")),
                    engine.HI: _float(mapping.get("hi")),
                    engine.HIGHER_IS_BETTER: mapping.get("higher_is_better", True),
                    engine.STEPS: mapping.get("steps"),
                    engine.MAX_AGE_DAYS: _float(measure.get("max_age_days")),
                    engine.POSITION: index,
                }
            )
    frames = selectors.scorecard_frames()  # for the column order of each frame
    return Definition(
        scorecard_id=scorecard_id,
        measures=pd.DataFrame(measures, columns=frames.measures.columns).astype(
            {engine.LO: float, engine.HI: float, engine.MAX_AGE_DAYS: float}
        ),
        groups=pd.DataFrame(groups, columns=frames.groups.columns),
        scorecards=pd.DataFrame(
            [{engine.SCORECARD_ID: scorecard_id, engine.MIN_COVERAGE: document["min_coverage"]}],
            columns=frames.scorecards.columns,
        ),
        bands=pd.DataFrame(
            [
                {engine.SCORECARD_ID: scorecard_id, engine.LABEL: b["label"], engine.MIN: b["min"]}
                for b in document["bands"]
            ],
            columns=frames.bands.columns,
        ),
        exception_rules=pd.DataFrame(
            [
                {
                    engine.SCORECARD_ID: scorecard_id,
                    engine.RULE_ID: -(position + 1),
                    engine.MEASURE_ID: ids[rule["measure"]],
                    engine.OP: rule["op"],
                    engine.VALUE: float(rule["value"]),
                    engine.ACTION: rule["action"],
                    engine.BAND: rule.get("band") or None,
                    engine.SCORE: _float(rule.get("score")),
                    engine.REASON: rule["reason"],
                }
                for position, rule in enumerate(document["exceptions"])
            ],
            columns=frames.exception_rules.columns,
        ),
    )


def document_assignment_rule(*, document: dict, scorecard_id: int) -> dict:
    """The document's assignment as a row of the engine's assignment rules."""
    document = draft_document_clean(document=document)
    assignment = document["assignment"]
    return {
        engine.SCORECARD_ID: scorecard_id,
        engine.PRIORITY: assignment["priority"],
        engine.SEGMENTS: list(assignment["segment"]),
        engine.TIERS: list(assignment["tier"]),
        engine.LIFECYCLES: list(assignment["lifecycle"]),
        engine.IS_DEFAULT: document["is_default"],
    }


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)
