"""Read-models of the scorecard change pages (PRODUCT.md "Changing a scorecard safely"): the
draft editor (its problems, weights and whole document, the preview when it has no problem)
and a scorecard's versions (who, when, why, what changed, how many current scores use each)."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count

from front.read_models.learning import DraftPreview, draft_preview_page
from metrics.selectors import metric_keys_declared
from scorecards.choices import BandTier
from scorecards.models import CurrentScore, Scorecard, ScorecardDraft, ScorecardVersion
from scorecards.services.draft_documents import draft_problems
from scorecards.validation import SOURCE_AGGREGATES
from scorecards.version_diff import version_diff


@dataclass(frozen=True)
class WeightInput:
    name: str  # the form field's name
    label: str
    value: Any
    is_group: bool


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    is_selected: bool


def _options(current: str, choices: list[tuple[str, str]]) -> list[Option]:
    """A select's options with the current value selected; a value that is not a choice (a
    broken draft) is offered as it is, so that saving the page leaves it for the problems
    list to name rather than silently replacing it."""
    options = [Option(value, label, value == current) for value, label in choices]
    if current not in {value for value, _ in choices}:
        options.append(Option(current, f"{current} (not allowed)", True))
    return options


@dataclass(frozen=True)
class BandInput:
    name: str  # the tier field's name: band:<b>:tier
    label: str
    tier: str  # "" when the document leaves the band to its default by position
    options: list[Option]


@dataclass(frozen=True)
class SourceInput:
    """A measure's source as the editor's fields show it (every value as text; "" when the
    measure is pushed). Field names are ``<prefix>:<field>`` (front.forms.SOURCE_INPUTS)."""

    prefix: str  # source:<g>:<m>
    label: str
    metric: str
    aggregate: str
    window_days: str
    per_metric: str
    per_aggregate: str
    per_window_days: str
    change: bool
    aggregate_options: list[Option]
    per_aggregate_options: list[Option]


@dataclass(frozen=True)
class DraftEditor:
    draft: ScorecardDraft
    problems: list[tuple[str, str]]  # (path, message), every one
    weights: list[WeightInput]
    bands: list[BandInput]
    sources: list[SourceInput]
    metric_keys: list[str]  # the declared metrics a source may name
    document_text: str
    preview: DraftPreview | None
    is_current: bool


def draft_editor_page(*, draft: ScorecardDraft) -> DraftEditor:
    """The draft as the editor shows it. The preview (and its backtest) is computed only for
    a draft without problems: a broken document cannot be scored."""
    problems = draft_problems(document=draft.definition, scorecard=draft.scorecard)
    preview = None
    if not problems:
        try:
            preview = draft_preview_page(draft=draft)
        except ValidationError as problem:
            problems = {"document": problem.messages}
    return DraftEditor(
        draft=draft,
        problems=[(path, message) for path, messages in problems.items() for message in messages],
        weights=_weight_inputs(draft.definition),
        bands=_band_inputs(draft.definition),
        sources=_source_inputs(draft.definition),
        metric_keys=sorted(metric_keys_declared()),
        document_text=json.dumps(draft.definition, indent=2, ensure_ascii=False),
        preview=preview,
        is_current=draft.base_version == draft.scorecard.version,
    )


def _weight_inputs(document: Any) -> list[WeightInput]:
    """An input per group and measure weight, named by position (group:0, measure:0:1)."""
    inputs: list[WeightInput] = []
    groups = document.get("groups") if isinstance(document, dict) else None
    for g, group in enumerate(groups if isinstance(groups, list) else []):
        if not isinstance(group, dict):
            continue
        inputs.append(
            WeightInput(f"group:{g}", str(group.get("name", g)), group.get("weight"), True)
        )
        measures = group.get("measures")
        for m, measure in enumerate(measures if isinstance(measures, list) else []):
            if isinstance(measure, dict):
                label = str(measure.get("name") or measure.get("key") or m)
                inputs.append(WeightInput(f"measure:{g}:{m}", label, measure.get("weight"), False))
    return inputs


def _objects(document: Any, name: str) -> list[tuple[int, dict]]:
    """(position, object) of a document's list, skipping what is not an object (a broken
    draft's problems say so)."""
    items = document.get(name) if isinstance(document, dict) else None
    return [
        (position, item)
        for position, item in enumerate(items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


TIER_CHOICES = [("", "Default by position"), *((v, str(label)) for v, label in BandTier.choices)]
AGGREGATE_CHOICES = [("", "—"), *((aggregate, aggregate) for aggregate in SOURCE_AGGREGATES)]
PER_AGGREGATE_CHOICES = [("", "default (last)"), *AGGREGATE_CHOICES[1:]]


def _band_inputs(document: Any) -> list[BandInput]:
    """A tier field per band, by position (band:0:tier)."""
    inputs = []
    for b, band in _objects(document, "bands"):
        tier = _text(band.get("tier"))
        label = _text(band.get("label") or b)
        inputs.append(BandInput(f"band:{b}:tier", label, tier, _options(tier, TIER_CHOICES)))
    return inputs


def _source_inputs(document: Any) -> list[SourceInput]:
    """The source fields of every measure, by position (source:0:1:metric …)."""
    inputs = []
    for g, group in _objects(document, "groups"):
        for m, measure in _objects(group, "measures"):
            source = measure.get("source") if isinstance(measure.get("source"), dict) else {}
            per = source.get("per") if isinstance(source.get("per"), dict) else {}
            inputs.append(
                SourceInput(
                    prefix=f"source:{g}:{m}",
                    label=_text(measure.get("name") or measure.get("key") or m),
                    metric=_text(source.get("metric")),
                    aggregate=_text(source.get("aggregate")),
                    window_days=_text(source.get("window_days")),
                    per_metric=_text(per.get("metric")),
                    per_aggregate=_text(per.get("aggregate")),
                    per_window_days=_text(per.get("window_days")),
                    change=source.get("change") is True,
                    aggregate_options=_options(_text(source.get("aggregate")), AGGREGATE_CHOICES),
                    per_aggregate_options=_options(
                        _text(per.get("aggregate")), PER_AGGREGATE_CHOICES
                    ),
                )
            )
    return inputs


@dataclass(frozen=True)
class VersionRow:
    number: int
    created_at: datetime
    created_by: str
    note: str
    changes: list
    current_scores: int
    is_live: bool


@dataclass(frozen=True)
class VersionsPage:
    scorecard: Scorecard
    versions: list[VersionRow]
    drafts: list[ScorecardDraft]


def scorecard_versions_page(*, scorecard: Scorecard) -> VersionsPage:
    """Every version, newest first, with its diff from the one before and the number of
    current scores made with it (which version each score used). Four queries."""
    versions = list(
        ScorecardVersion.objects.filter(scorecard=scorecard)
        .select_related("created_by")
        .order_by("number")
    )
    counts = dict(
        CurrentScore.objects.filter(scorecard=scorecard)
        .values("snapshot__scorecard_version")
        .annotate(n=Count("pk"))
        .values_list("snapshot__scorecard_version", "n")
    )
    rows = []
    previous = None
    for version in versions:
        rows.append(
            VersionRow(
                number=version.number,
                created_at=version.created_at,
                created_by=str(version.created_by or "—"),
                note=version.note,
                changes=version_diff(previous, version.definition) if previous else [],
                current_scores=counts.get(version.number, 0),
                is_live=version.number == scorecard.version,
            )
        )
        previous = version.definition
    drafts = list(
        scorecard.drafts.filter(status=ScorecardDraft.Status.DRAFT)
        .select_related("created_by")
        .order_by("-updated_at")
    )
    return VersionsPage(scorecard=scorecard, versions=rows[::-1], drafts=drafts)
