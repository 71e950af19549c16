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
from scorecards.models import CurrentScore, Scorecard, ScorecardDraft, ScorecardVersion
from scorecards.services.draft_documents import draft_problems
from scorecards.version_diff import version_diff


@dataclass(frozen=True)
class WeightInput:
    name: str  # the form field's name
    label: str
    value: Any
    is_group: bool


@dataclass(frozen=True)
class DraftEditor:
    draft: ScorecardDraft
    problems: list[tuple[str, str]]  # (path, message), every one
    weights: list[WeightInput]
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
