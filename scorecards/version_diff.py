"""What changed from one version of a scorecard to the next (the admin's version history).

Pure: two scorecard documents in (PRODUCT.md "API shapes", as stored on ScorecardVersion),
a list of changes out; no Django, no I/O. Each change names its section, what changed and the
value before and after (None = it did not exist on that side):

- ``settings``: name, default, minimum coverage and the assignment rule;
- ``weights``: group weights (by group name) and measure weights (by measure key);
- ``measures``: measures added to or removed from the scorecard, or moved to another group;
- ``mappings``: a measure's name, kind, mapping and max age;
- ``bands``: bands added, removed, or with another minimum or colour (by label);
- ``exceptions``: rules removed and added (a rule has no identity but its content, so an
  edited rule shows as one removed and one added).

Order: the sections in the order above; inside one, the document's order (the current side's,
then what only the previous side had).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SETTINGS = "settings"
WEIGHTS = "weights"
MEASURES = "measures"
MAPPINGS = "mappings"
BANDS = "bands"
EXCEPTIONS = "exceptions"

_MEASURE_FIELDS = ("name", "kind", "mapping", "max_age_days", "source")


@dataclass(frozen=True)
class Change:
    section: str
    subject: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        return f"{self.subject}: {self.before or '—'} → {self.after or '—'}"


def _text(value: Any) -> str | None:
    """A value as the admin shows it: whole numbers without ".0", lists and dicts as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))
    return str(value)


def _compare(section: str, subject: str, before: Any, after: Any, changes: list[Change]) -> None:
    if _text(before) != _text(after):
        changes.append(Change(section, subject, _text(before), _text(after)))


def _keyed(items: list[Mapping], key: str) -> dict[Any, Mapping]:
    return {item[key]: item for item in items}


def _union(after: dict, before: dict) -> list:
    """Keys of ``after`` in its order, then those only ``before`` has, in its order."""
    return list(after) + [key for key in before if key not in after]


def _settings(previous: Mapping, current: Mapping, changes: list[Change]) -> None:
    for field, label in (
        ("name", "name"),
        ("is_default", "default"),
        ("min_coverage", "minimum coverage"),
    ):
        _compare(SETTINGS, label, previous.get(field), current.get(field), changes)
    before, after = previous.get("assignment") or {}, current.get("assignment") or {}
    for field in ("priority", "segment", "tier", "lifecycle"):
        _compare(SETTINGS, f"assignment {field}", before.get(field), after.get(field), changes)


def _measures_of(document: Mapping) -> dict[str, tuple[str, Mapping]]:
    """(group name, measure) by measure key."""
    return {
        measure["key"]: (group["name"], measure)
        for group in document.get("groups", [])
        for measure in group.get("measures", [])
    }


def _groups_and_measures(previous: Mapping, current: Mapping, changes: list[Change]) -> None:
    groups_before = _keyed(previous.get("groups", []), "name")
    groups_after = _keyed(current.get("groups", []), "name")
    for name in _union(groups_after, groups_before):
        before, after = groups_before.get(name), groups_after.get(name)
        _compare(
            WEIGHTS,
            f"group {name}",
            before and before["weight"],
            after and after["weight"],
            changes,
        )
    measures_before, measures_after = _measures_of(previous), _measures_of(current)
    structural, mappings = [], []
    for key in _union(measures_after, measures_before):
        before, after = measures_before.get(key), measures_after.get(key)
        _compare(
            WEIGHTS,
            f"measure {key}",
            before and before[1]["weight"],
            after and after[1]["weight"],
            changes,
        )
        _compare(
            MEASURES,
            f"measure {key} in group",
            before and before[0],
            after and after[0],
            structural,
        )
        if before and after:
            for field in _MEASURE_FIELDS:
                _compare(
                    MAPPINGS,
                    f"measure {key} {field.replace('_', ' ')}",
                    before[1].get(field),
                    after[1].get(field),
                    mappings,
                )
    changes += structural + mappings


def _bands(previous: Mapping, current: Mapping, changes: list[Change]) -> None:
    before, after = (
        _keyed(previous.get("bands", []), "label"),
        _keyed(current.get("bands", []), "label"),
    )
    for label in _union(after, before):
        old, new = before.get(label), after.get(label)
        if old is None or new is None:
            _compare(BANDS, f"band {label}", old and old["min"], new and new["min"], changes)
            continue
        _compare(BANDS, f"band {label} minimum", old["min"], new["min"], changes)
        _compare(BANDS, f"band {label} colour", old.get("color"), new.get("color"), changes)


def _rule(rule: Mapping) -> str:
    """An exception rule in one line: "csm_sentiment <= 25: cap_band Red (Low CSM sentiment)"."""
    action = rule["action"]
    if action == "cap_band":
        action += f" {rule.get('band')}"
    elif action == "override":
        action += f" {_text(rule.get('score'))}"
    condition = f"{rule['measure']} {rule['op']} {_text(rule['value'])}"
    return f"{condition}: {action} ({rule.get('reason', '')})"


def _exceptions(previous: Mapping, current: Mapping, changes: list[Change]) -> None:
    before = [_rule(rule) for rule in previous.get("exceptions", [])]
    after = [_rule(rule) for rule in current.get("exceptions", [])]
    changes += [
        Change(EXCEPTIONS, "exception rule", rule, None) for rule in before if rule not in after
    ]
    changes += [
        Change(EXCEPTIONS, "exception rule", None, rule) for rule in after if rule not in before
    ]


def version_diff(previous: Mapping | None, current: Mapping) -> list[Change]:
    """The changes from ``previous`` to ``current`` (two scorecard documents). A first version
    (``previous`` None) has no changes; identical documents have none either."""
    if previous is None:
        return []
    changes: list[Change] = []
    _settings(previous, current, changes)
    _groups_and_measures(previous, current, changes)
    _bands(previous, current, changes)
    _exceptions(previous, current, changes)
    return changes
