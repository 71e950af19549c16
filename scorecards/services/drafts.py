"""Draft scorecard versions: weights suggested by the optimizer or edited by CS Ops.

A draft is a copy of the scorecard's document (PRODUCT.md "API shapes") with other group and
measure weights. It never affects scores: the preview scores it in memory and writes nothing.
Publishing applies its weights to the scorecard and records the next immutable version
(``scorecard_version_create``), so snapshots scored before keep theirs; discarding deletes it.

A draft is made from one version of the scorecard (``base_version``) and may be published only
while that version is still the current one: weights tuned for another definition would be
applied to measures they were never compared with.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from scorecards import engine, selectors
from scorecards.documents import scorecard_to_document
from scorecards.learning import backtest, maths
from scorecards.models import (
    Scorecard,
    ScorecardDraft,
    ScorecardVersion,
    ScoreRun,
)
from scorecards.services.draft_documents import (
    document_assignment_rule,
    document_definition,
    draft_problems,
)
from scorecards.services.versions import scorecard_version_create
from scorecards.validation import weight_validate

MOVERS = 20
# MeasureGroup.weight and ScorecardMeasure.weight: DecimalField(max_digits=8, decimal_places=2).
_MAX_WEIGHT = Decimal("999999.99")
_CENT = Decimal("0.01")

User = AbstractBaseUser | AnonymousUser | None


# --- Weights in a document -----------------------------------------------------------------------
def draft_weights(document: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(group weight by group name, measure weight by measure key) of a scorecard document."""
    groups = {group["name"]: float(group["weight"]) for group in document["groups"]}
    measures = {
        measure["key"]: float(measure["weight"])
        for group in document["groups"]
        for measure in group["measures"]
    }
    return groups, measures


def _weight(value: Any, path: str, errors: dict[str, list[str]]) -> Decimal | None:
    """A weight as stored (2 decimals, half up), or None with the reason added to errors."""
    number = None
    if not isinstance(value, bool):
        with contextlib.suppress(InvalidOperation):
            number = Decimal(str(value))
    problems = weight_validate(value if number is None else number)
    stored = None if problems else number.quantize(_CENT, rounding=ROUND_HALF_UP)
    if stored is not None and stored <= 0:
        problems = [f"The weight must be at least 0.01, not {value}."]
    elif stored is not None and stored > _MAX_WEIGHT:
        problems = [f"The weight must be at most {_MAX_WEIGHT}, not {value}."]
    if problems:
        errors[path] = problems
        return None
    return stored


def draft_document(
    document: dict[str, Any],
    *,
    group_weights: dict[str, Any],
    measure_weights: dict[str, Any],
) -> dict[str, Any]:
    """The definition of a draft: a copy of the document with the given weights (the others
    unchanged). Raises ValidationError keyed ``group_weights.<name>`` /
    ``measure_weights.<key>`` for unknown names and weights that are not positive numbers with
    at most 8 digits."""
    errors: dict[str, list[str]] = {}
    groups, measures = draft_weights(document)
    for name in group_weights:
        if name not in groups:
            errors[f"group_weights.{name}"] = [f"“{name}” is not a group of this scorecard."]
    for key in measure_weights:
        if key not in measures:
            errors[f"measure_weights.{key}"] = [f"“{key}” is not a measure of this scorecard."]
    result = copy.deepcopy(document)
    for group in result["groups"]:
        if group["name"] in group_weights:
            path = f"group_weights.{group['name']}"
            group["weight"] = _weight(group_weights[group["name"]], path, errors)
        for measure in group["measures"]:
            if measure["key"] in measure_weights:
                path = f"measure_weights.{measure['key']}"
                measure["weight"] = _weight(measure_weights[measure["key"]], path, errors)
    if errors:
        raise ValidationError(errors)
    for group in result["groups"]:  # JSON numbers, as in scorecard_to_document
        group["weight"] = _number(group["weight"])
        for measure in group["measures"]:
            measure["weight"] = _number(measure["weight"])
    return result


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number == int(number) else number


# --- Create, edit, discard -----------------------------------------------------------------------
@transaction.atomic
def scorecard_draft_create(
    *,
    scorecard: Scorecard,
    measure_weights: dict[str, Any],
    group_weights: dict[str, Any] | None = None,
    user: User = None,
    note: str = "",
    source: str = ScorecardDraft.Source.MANUAL,
    report: dict | None = None,
) -> ScorecardDraft:
    """A draft of the scorecard's current version with other weights (the rest unchanged).

    Raises ValidationError keyed by ``measure_weights.<key>`` / ``group_weights.<name>``.
    Writes the draft only: no score, no version changes.
    """
    document = draft_document(
        scorecard_to_document(scorecard),
        group_weights=group_weights or {},
        measure_weights=measure_weights,
    )
    return ScorecardDraft.objects.create(
        scorecard=scorecard,
        base_version=scorecard.version,
        source=source,
        definition=document,
        report=report,
        note=note[:300],
        created_by=user if user is not None and user.is_authenticated else None,
    )


def scorecard_draft_create_from_report(
    *, scorecard: Scorecard, report: dict, user: User = None
) -> ScorecardDraft:
    """The optimizer's suggestion (backtest.scorecard_optimize's report) as a draft, with the
    report kept on it."""
    current, suggested = report["current"], report["suggested"]
    note = (
        f"Suggested from {report['n_outcomes']} renewal outcomes, {report['horizon_days']} days "
        f"ahead: held-out AUC {current['auc_holdout']} now, {suggested['auc_holdout']} suggested."
    )
    return scorecard_draft_create(
        scorecard=scorecard,
        measure_weights=suggested["weights"],
        group_weights=suggested["group_weights"],
        user=user,
        note=note,
        source=ScorecardDraft.Source.OPTIMIZER,
        report=report,
    )


def scorecard_draft_suggest(
    *,
    scorecard: Scorecard,
    user: User = None,
    horizon_days: int = backtest.DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
) -> ScorecardDraft:
    """Run the optimizer and open its suggestion as a draft. Raises
    maths.InsufficientOutcomes when there is too little to learn from."""
    report = backtest.scorecard_optimize(
        scorecard=scorecard,
        horizon_days=horizon_days,
        downgraded_is_churned=downgraded_is_churned,
    )
    return scorecard_draft_create_from_report(scorecard=scorecard, report=report, user=user)


def _open_draft(draft: ScorecardDraft) -> ScorecardDraft:
    """The draft's row, locked; ValidationError when it was already published."""
    locked = ScorecardDraft.objects.select_for_update().get(pk=draft.pk)
    if locked.status != ScorecardDraft.Status.DRAFT:
        raise ValidationError(
            {"status": [f"Draft {draft.pk} was published already; make a new draft."]}
        )
    return locked


@transaction.atomic
def scorecard_draft_update(
    *,
    draft: ScorecardDraft,
    measure_weights: dict[str, Any] | None = None,
    group_weights: dict[str, Any] | None = None,
    note: str | None = None,
) -> ScorecardDraft:
    """Edit a draft's weights (the given ones; the others stay) and note. An edited suggestion
    becomes a manual draft; its optimizer report stays for reference."""
    locked = _open_draft(draft)
    locked.definition = draft_document(
        locked.definition,
        group_weights=group_weights or {},
        measure_weights=measure_weights or {},
    )
    fields = ["definition", "updated_at"]
    if measure_weights or group_weights:
        locked.source = ScorecardDraft.Source.MANUAL
        fields.append("source")
    if note is not None:
        locked.note = note[:300]
        fields.append("note")
    locked.save(update_fields=fields)
    return locked


@transaction.atomic
def scorecard_draft_discard(*, draft: ScorecardDraft) -> None:
    """Delete an unpublished draft. Scores never saw it, so nothing else changes."""
    _open_draft(draft).delete()


# --- Publish -------------------------------------------------------------------------------------
@transaction.atomic
def scorecard_draft_publish(*, draft: ScorecardDraft, user: User = None) -> ScorecardVersion:
    """Apply the draft's weights to its scorecard and record the next version.

    Raises ValidationError when the draft was published already, when the scorecard has moved
    on from the draft's base version, or when the weights equal the current ones. Scores change
    at the next recompute; snapshots already written keep the version they were scored with.
    """
    locked = _open_draft(draft)
    scorecard = Scorecard.objects.select_for_update().get(pk=locked.scorecard_id)
    _base_check(scorecard=scorecard, draft=locked)
    if not scorecard.versions.exists():
        # A scorecard made before versions were recorded: keep its definition as the version
        # the draft replaces, so that the change shows in the history.
        scorecard_version_create(scorecard=scorecard, user=user, note="Before publishing a draft.")
    group_weights, measure_weights = draft_weights(locked.definition)
    for group in scorecard.groups.all():
        group.weight = Decimal(str(group_weights[group.name]))
        group.save(update_fields=["weight"])
    for member in scorecard.scorecard_measures.select_related("measure"):
        member.weight = Decimal(str(measure_weights[member.measure.key]))
        member.save(update_fields=["weight"])
    note = f"Published draft {locked.pk}" + (f": {locked.note}" if locked.note else ".")
    version = scorecard_version_create(scorecard=scorecard, user=user, note=note[:300])
    if version is None:
        raise ValidationError(
            {"definition": [f"The draft's weights are those of version {scorecard.version}."]}
        )
    locked.status = ScorecardDraft.Status.PUBLISHED
    locked.published_version = version
    locked.save(update_fields=["status", "published_version", "updated_at"])
    draft.status, draft.published_version = locked.status, version
    return version


def _base_check(*, scorecard: Scorecard, draft: ScorecardDraft) -> None:
    """The draft still fits the scorecard: same version, same groups and measures."""
    if scorecard.version != draft.base_version:
        raise ValidationError(
            {
                "base_version": [
                    f"“{scorecard.name}” changed since this draft was made (version "
                    f"{draft.base_version}, now {scorecard.version}); make a new draft."
                ]
            }
        )


# --- The draft as the engine sees it -------------------------------------------------------------
def scorecard_draft_definition(
    *, draft: ScorecardDraft, current: backtest.Definition
) -> backtest.Definition:
    """The scorecard's current definition with the draft's weights. ValidationError when the
    scorecard's groups or measures are no longer those of the draft."""
    group_weights, measure_weights = draft_weights(draft.definition)
    if set(group_weights) != set(current.group_of.values()) or set(measure_weights) != set(
        current.keys
    ):
        raise ValidationError(
            {"definition": ["The scorecard's groups or measures changed; make a new draft."]}
        )
    return current.with_weights(measure_weights=measure_weights, group_weights=group_weights)


# --- Impact preview ------------------------------------------------------------------------------
def preview_date() -> date:
    """ "The latest date": that of the latest finished full recompute, else today."""
    run = (
        ScoreRun.objects.filter(is_full=True, status=ScoreRun.Status.FINISHED)
        .order_by("-as_of")
        .first()
    )
    return run.as_of if run else timezone.localdate()


def scorecard_draft_preview(
    *,
    draft: ScorecardDraft,
    as_of: date | None = None,
    movers: int = MOVERS,
    horizon_days: int = backtest.DEFAULT_HORIZON_DAYS,
    with_backtest: bool = True,
) -> dict:
    """The draft's impact, computed in memory: every active account assigned to the scorecard
    scored on ``as_of`` (default :func:`preview_date`) with the current and with the draft's
    weights, from the same values. Writes nothing (the draft need not even be saved).

    Output (JSON-ready): ``scorecard, scorecard_version, draft_id, base_version, is_current``
    (False when the scorecard moved on since the draft: it can no longer be published),
    ``as_of, accounts, arr``;
    ``bands`` (labels: "Not scored", then the bands by ascending min); ``matrix`` (one cell
    per (from, to) band pair: ``from, to, accounts, arr``; the counts add up to ``accounts``);
    ``changed_band`` (accounts and ARR whose band changes, ``up`` / ``down`` counts);
    ``movers`` (the ``movers`` accounts whose overall moves most, ties by id: ``account_id,
    external_id, name, arr, current, draft`` ({overall, band}), ``change`` and ``measures``
    — each measure's change of contribution, largest first, as in rule 11); ``backtest``
    (``scorecard_backtest_compare`` of current vs draft, or None).
    """
    as_of = as_of or preview_date()
    frames = selectors.scorecard_frames()
    scorecard_id = draft.scorecard_id
    current = backtest.definition_of(frames, scorecard_id)
    problems = draft_problems(document=draft.definition, scorecard=draft.scorecard)
    if problems:
        raise ValidationError(problems)
    proposed = document_definition(document=draft.definition, scorecard_id=scorecard_id)

    rows = (
        Account.objects.filter(status=Account.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", "segment", "tier", "lifecycle", "arr")
    )
    accounts = pd.DataFrame(
        list(rows),
        columns=[engine.ACCOUNT_ID, engine.SEGMENT, engine.TIER, engine.LIFECYCLE, "arr"],
    )
    # The draft may change the assignment: the accounts it scores after, or the scorecard
    # scores now, are compared each with the scorecard that scores it now and after.
    draft_rules = frames.assignment_rules[
        frames.assignment_rules[engine.SCORECARD_ID] != scorecard_id
    ]
    draft_rule = document_assignment_rule(document=draft.definition, scorecard_id=scorecard_id)
    draft_rules = pd.concat([draft_rules, pd.DataFrame([draft_rule])], ignore_index=True)
    now = engine.assign_scorecards(accounts, frames.assignment_rules)
    then = engine.assign_scorecards(accounts, draft_rules)
    involved = set(now.loc[now[engine.SCORECARD_ID] == scorecard_id, engine.ACCOUNT_ID]) | set(
        then.loc[then[engine.SCORECARD_ID] == scorecard_id, engine.ACCOUNT_ID]
    )
    assigned = now[now[engine.ACCOUNT_ID].isin(involved)].reset_index(drop=True)
    assigned_draft = then[then[engine.ACCOUNT_ID].isin(involved)].reset_index(drop=True)
    arr = accounts.set_index(engine.ACCOUNT_ID)["arr"].astype(float)
    ids = assigned[engine.ACCOUNT_ID].to_numpy()
    measure_ids = set(frames.measures[engine.MEASURE_ID]) | {
        int(pk) for pk in proposed.measures[engine.MEASURE_ID] if pk > 0
    }
    values = backtest.values_at_frame(
        probes=pd.DataFrame(
            {
                maths.OUTCOME_ID: ids,
                engine.ACCOUNT_ID: ids,
                maths.SCORED_ON: pd.Timestamp(as_of),
            }
        ),
        measure_ids=sorted(measure_ids),
    ).rename(columns={maths.OUTCOME_ID: engine.ACCOUNT_ID})
    live = backtest.Definition(
        scorecard_id=scorecard_id,
        measures=frames.measures,
        groups=frames.groups,
        scorecards=frames.scorecards,
        bands=frames.bands,
        exception_rules=frames.exception_rules,
    )
    replaced = _with_scorecard_replaced(live, proposed)

    def score(definition: backtest.Definition, assignments: pd.DataFrame) -> engine.ScoringResult:
        return engine.score_accounts(
            values=values,
            measures=definition.measures,
            groups=definition.groups,
            scorecards=definition.scorecards,
            bands=definition.bands,
            exception_rules=definition.exception_rules,
            assignments=assignments,
            as_of=as_of,
        )

    before, after = score(live, assigned), score(replaced, assigned_draft)
    scorecard = draft.scorecard
    labels = [engine.NOT_SCORED] + current.bands.sort_values(engine.MIN)[engine.LABEL].tolist()
    for label in proposed.bands.sort_values(engine.MIN)[engine.LABEL].tolist() + sorted(
        set(before.accounts[engine.BAND]) | set(after.accounts[engine.BAND])
    ):
        if label not in labels:
            labels.append(label)
    impact = pd.DataFrame(
        {
            engine.ACCOUNT_ID: ids,
            "arr": arr.reindex(ids).to_numpy(),
            "band_from": before.accounts[engine.BAND].to_numpy(),
            "band_to": after.accounts[engine.BAND].to_numpy(),
            "overall_from": before.accounts[engine.OVERALL].to_numpy(dtype=float),
            "overall_to": after.accounts[engine.OVERALL].to_numpy(dtype=float),
        }
    )
    report = {
        "scorecard": scorecard.name,
        "scorecard_version": scorecard.version,
        "draft_id": draft.pk,
        "base_version": draft.base_version,
        "is_current": draft.base_version == scorecard.version,
        "as_of": as_of.isoformat(),
        "accounts": len(impact),
        "arr": _money(impact["arr"].sum()),
        "bands": labels,
        "matrix": _band_matrix(impact, labels),
        "changed_band": _band_changes(impact, labels),
        "movers": _movers(impact, before, after, count=movers),
        "backtest": None,
    }
    if with_backtest:
        report["backtest"] = backtest.scorecard_backtest_compare(
            scorecard=scorecard,
            definitions={"current": current, "draft": proposed},
            horizon_days=horizon_days,
        )
    return report


def _with_scorecard_replaced(
    live: backtest.Definition, proposed: backtest.Definition
) -> backtest.Definition:
    """Every scorecard's frames, with one scorecard's rows those of ``proposed``."""

    def swap(frame: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
        others = frame[frame[engine.SCORECARD_ID] != proposed.scorecard_id]
        return pd.concat(
            [others, own.astype(others.dtypes.to_dict(), errors="ignore")], ignore_index=True
        )

    return backtest.Definition(
        scorecard_id=proposed.scorecard_id,
        measures=swap(live.measures, proposed.measures),
        groups=swap(live.groups, proposed.groups),
        scorecards=swap(live.scorecards, proposed.scorecards),
        bands=swap(live.bands, proposed.bands),
        exception_rules=swap(live.exception_rules, proposed.exception_rules),
    )


def _money(value: float) -> float:
    return float(engine.round_half_up(value))


def _band_matrix(impact: pd.DataFrame, labels: list[str]) -> list[dict]:
    """Every (from, to) pair of labels, in label order, with its count and ARR."""
    totals = impact.groupby(["band_from", "band_to"]).agg(
        accounts=("arr", "size"), arr=("arr", "sum")
    )
    return [
        {
            "from": before,
            "to": after,
            "accounts": int(totals["accounts"].get((before, after), 0)),
            "arr": _money(totals["arr"].get((before, after), 0.0)),
        }
        for before in labels
        for after in labels
    ]


def _band_changes(impact: pd.DataFrame, labels: list[str]) -> dict:
    rank = {label: position for position, label in enumerate(labels)}
    before = impact["band_from"].map(rank).to_numpy()
    after = impact["band_to"].map(rank).to_numpy()
    changed = before != after
    return {
        "accounts": int(changed.sum()),
        "arr": _money(impact.loc[changed, "arr"].sum()),
        "up": int((after > before).sum()),
        "down": int((after < before).sum()),
    }


def _movers(
    impact: pd.DataFrame,
    before: engine.ScoringResult,
    after: engine.ScoringResult,
    *,
    count: int,
) -> list[dict]:
    """The accounts whose overall score moves most (scored on both sides, moved at all),
    with the measures that moved them: each one's change of contribution (rule 11)."""
    change = impact["overall_to"] - impact["overall_from"]
    moved = impact.assign(change=change, size=change.abs())
    moved = moved[moved["size"] > 0]
    moved = moved.sort_values(["size", engine.ACCOUNT_ID], ascending=[False, True]).head(count)
    top = moved[engine.ACCOUNT_ID].tolist()
    names = dict(
        (pk, (external_id, name))
        for pk, external_id, name in Account.objects.filter(pk__in=top).values_list(
            "pk", "external_id", "name"
        )
    )
    columns = [engine.ACCOUNT_ID, engine.MEASURE_KEY, engine.CONTRIBUTION]
    rows_before = before.measures.loc[before.measures[engine.ACCOUNT_ID].isin(top), columns]
    rows_after = after.measures.loc[after.measures[engine.ACCOUNT_ID].isin(top), columns]
    result = []
    for row in moved.itertuples(index=False):
        changes = engine.score_changes(
            rows_before[rows_before[engine.ACCOUNT_ID] == row.account_id],
            rows_after[rows_after[engine.ACCOUNT_ID] == row.account_id],
        )
        changes = changes[changes[engine.CHANGE] != 0]
        external_id, name = names.get(row.account_id, ("", ""))
        result.append(
            {
                "account_id": int(row.account_id),
                "external_id": external_id,
                "name": name,
                "arr": _money(row.arr),
                "current": {"overall": float(row.overall_from), "band": row.band_from},
                "draft": {"overall": float(row.overall_to), "band": row.band_to},
                "change": float(engine.round_half_up(row.change)),
                "measures": [
                    {
                        "key": change.measure_key,
                        "current": _or_none(change.contribution_a),
                        "draft": _or_none(change.contribution_b),
                        "change": float(change.change),
                    }
                    for change in changes.itertuples(index=False)
                ],
            }
        )
    return result


def _or_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
