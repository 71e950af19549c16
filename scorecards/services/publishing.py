"""Changing a scorecard safely (PRODUCT.md): drafts of whole documents, publish with a
background rescore, rollback, and the conflict when two people publish at once.

- A page or the admin saves a *draft* (a whole scorecard document); nothing scores with it.
- Publishing a draft replaces the scorecard's definition through the same path as
  ``PUT /api/v1/scorecards/<id>/`` (``scorecard_document_save``), records the next version
  with the author and the note, and starts a ScoreRun for today of every account that uses
  the scorecard or whose assignment changed. Risks follow the run as after any run, and rule
  13 keeps the change of method out of trends, "what changed" and movement risks.
- A draft is made from one version; if the scorecard moved on meanwhile (another draft was
  published, a rollback, a PUT), publishing it raises ScorecardMovedOn: the draft stays as it
  is, to be rebased (opened again from the new version) — nothing is lost.
- Rollback publishes an earlier version's document again, as a new version with a note.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from scorecards import engine, selectors
from scorecards.documents import (
    measure_document_fields,
    scorecard_document_normalize,
    scorecard_to_document,
)
from scorecards.models import Measure, Scorecard, ScorecardDraft, ScorecardVersion, ScoreRun
from scorecards.services.draft_documents import draft_document_clean, draft_problems
from scorecards.services.versions import scorecard_published, scorecard_version_create

User = AbstractBaseUser | AnonymousUser | None


class ScorecardMovedOn(Exception):
    """The draft was made from a version that is no longer the scorecard's current one."""

    def __init__(self, *, draft: ScorecardDraft, current_version: int) -> None:
        self.draft = draft
        self.current_version = current_version
        self.message = (
            f"“{draft.scorecard.name}” moved on since draft {draft.pk} was made from version "
            f"{draft.base_version}: it is at version {current_version} now. Rebase the draft "
            "(open it again on the new version) and publish again; the draft is kept."
        )
        super().__init__(self.message)


@dataclass(frozen=True)
class Published:
    """The version a publish recorded and the rescore it started (None: nothing changed)."""

    version: ScorecardVersion
    run: ScoreRun | None


def _user(user: User) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


# --- Drafts of whole documents ------------------------------------------------------------------
def scorecard_draft_open(
    *, scorecard: Scorecard, document: Any | None = None, user: User = None, note: str = ""
) -> ScorecardDraft:
    """A draft of the scorecard's current version: the given document (saved as is, problems
    and all), or a copy of the current definition to edit. Writes the draft only."""
    return ScorecardDraft.objects.create(
        scorecard=scorecard,
        base_version=scorecard.version,
        source=ScorecardDraft.Source.MANUAL,
        definition=copy.deepcopy(document)
        if document is not None
        else scorecard_to_document(scorecard),
        note=note[:300],
        created_by=_user(user),
    )


@transaction.atomic
def scorecard_draft_save(
    *, draft: ScorecardDraft, document: Any, note: str | None = None
) -> ScorecardDraft:
    """Replace a draft's document (saved even when it has problems; see draft_problems)."""
    locked = ScorecardDraft.objects.select_for_update().get(pk=draft.pk)
    if locked.status != ScorecardDraft.Status.DRAFT:
        raise ValidationError(
            {"status": [f"Draft {draft.pk} was published already; open a new one."]}
        )
    locked.definition = copy.deepcopy(document)
    locked.source = ScorecardDraft.Source.MANUAL
    fields = ["definition", "source", "updated_at"]
    if note is not None:
        locked.note = note[:300]
        fields.append("note")
    locked.save(update_fields=fields)
    return locked


@transaction.atomic
def scorecard_draft_rebase(*, draft: ScorecardDraft, user: User = None) -> ScorecardDraft:
    """A draft that the scorecard moved on from, reopened on the current version: the
    draft's document is kept as it is (nothing lost) and its base becomes the current
    version, so that publishing it replaces what is live now — after CS Ops looked again."""
    locked = ScorecardDraft.objects.select_for_update().get(pk=draft.pk)
    scorecard = Scorecard.objects.get(pk=locked.scorecard_id)
    locked.base_version = scorecard.version
    locked.save(update_fields=["base_version", "updated_at"])
    return locked


def scorecard_document_restore(*, scorecard: Scorecard, document: dict) -> None:
    """Put a scorecard's rows back to a document of its live version (after the admin wrote
    an edit that is to become a draft). Records no version: the definition is the live one."""
    from scorecards.services.ingestion import scorecard_document_save

    scorecard_document_save(
        document=draft_document_clean(document=document),
        user=None,
        scorecard=scorecard,
        note="Restored after an edit saved as a draft.",
    )


@transaction.atomic
def scorecard_edit_as_draft(
    *, scorecard: Scorecard, live: dict, user: User = None, note: str = ""
) -> ScorecardDraft | None:
    """The admin's edit of a scorecard, which its form and inlines have just written to the
    scorecard's rows, made a draft: the rows are put back to ``live`` (the document read
    before the save) and the edited document is opened as a draft of the live version.
    Returns None, with the rows put back all the same, when the edit left the document as
    it was (e.g. only the description changed, which is not part of it)."""
    edited = scorecard_to_document(scorecard)
    scorecard_document_restore(scorecard=scorecard, document=live)
    if scorecard_document_normalize(edited) == scorecard_document_normalize(live):
        return None
    return scorecard_draft_open(scorecard=scorecard, document=edited, user=user, note=note)


@transaction.atomic
def scorecard_add_as_draft(
    *, scorecard: Scorecard, user: User = None, note: str = ""
) -> tuple[ScorecardVersion | None, ScorecardDraft | None]:
    """A scorecard the admin has just added (its form and inlines written), recorded so that
    adding it changes nobody's score: version 1 takes no account (no assignment, not the
    default) and, when the add asked for accounts (segments, tiers, lifecycles, or the
    default), that definition is opened as a draft of version 1, to preview and publish like
    any change. Returns version 1 and the draft, or no draft when the add asked for none."""
    edited = scorecard_to_document(scorecard)
    unassigned = copy.deepcopy(edited)
    unassigned["is_default"] = False
    unassigned["assignment"].update({"segment": [], "tier": [], "lifecycle": []})
    if scorecard_document_normalize(unassigned) == scorecard_document_normalize(edited):
        return scorecard_version_create(scorecard=scorecard, user=user, note=note), None
    # The assignment lives on the scorecard's own row.
    Scorecard.objects.filter(pk=scorecard.pk).update(
        is_default=False, segments=[], tiers=[], lifecycles=[]
    )
    scorecard.refresh_from_db()
    version = scorecard_version_create(
        scorecard=scorecard,
        user=user,
        note=note or "Added in the admin; assigned to no account until its draft is published.",
    )
    draft = scorecard_draft_open(
        scorecard=scorecard,
        document=edited,
        user=user,
        note=note or "The accounts asked for when the scorecard was added.",
    )
    return version, draft


@transaction.atomic
def measure_edit_as_drafts(
    *, measure: Measure, user: User = None, note: str = ""
) -> list[ScorecardDraft]:
    """Save the admin's edit of a measure (``measure``: the stored row with the edit applied
    in memory, not saved) without changing a live version.

    A measure's name, kind, mapping, max age and source are part of the document of every
    scorecard that uses it (measures are shared by key), so for each such scorecard whose
    document the edit changes a draft of its live version is opened with the edited measure,
    and the stored measure keeps those fields until a draft is published. What no document
    holds (the description) is saved at once. A measure that no scorecard uses is saved
    whole: nothing scores with it. Returns the drafts opened, by scorecard id."""
    scorecards = list(
        Scorecard.objects.filter(scorecard_measures__measure_id=measure.pk)
        .distinct()
        .order_by("pk")
    )
    if not scorecards:
        measure.save()
        return []
    Measure.objects.filter(pk=measure.pk).update(description=measure.description)
    fields = {"name": measure.name, **measure_document_fields(measure)}
    note = note or f"Measure “{measure.key}” changed in the admin."
    drafts = []
    for scorecard in scorecards:
        live = scorecard_to_document(scorecard)
        edited = copy.deepcopy(live)
        for group in edited["groups"]:
            for entry in group["measures"]:
                if entry["key"] == measure.key:
                    entry.pop("source", None)  # a measure no longer derived has none
                    entry.update(copy.deepcopy(fields))
        if scorecard_document_normalize(edited) != scorecard_document_normalize(live):
            drafts.append(
                scorecard_draft_open(scorecard=scorecard, document=edited, user=user, note=note)
            )
    return drafts


# --- Publish -------------------------------------------------------------------------------------
def scorecard_accounts_assigned(*, scorecard_id: int) -> set[int]:
    """The active accounts the scorecard scores under the live assignment rules."""
    rows = Account.objects.filter(status=Account.Status.ACTIVE).values_list(
        "pk", "segment", "tier", "lifecycle"
    )
    accounts = pd.DataFrame(
        list(rows), columns=[engine.ACCOUNT_ID, engine.SEGMENT, engine.TIER, engine.LIFECYCLE]
    )
    assigned = engine.assign_scorecards(accounts, selectors.scorecard_frames().assignment_rules)
    return set(
        assigned.loc[assigned[engine.SCORECARD_ID] == scorecard_id, engine.ACCOUNT_ID].tolist()
    )


@transaction.atomic
def scorecard_publish_document(
    *,
    scorecard: Scorecard,
    document: dict,
    user: User,
    note: str,
    expected_version: int | None = None,
    draft: ScorecardDraft | None = None,
    allow_unchanged: bool = False,
) -> Published:
    """Replace the scorecard's definition with a (problem-free) document, record the next
    version with the author and note, and start today's rescore of every account that uses
    the scorecard or whose assignment changed (after commit, in the background).

    Raises ScorecardMovedOn when ``expected_version`` is given and is not the current one
    (checked under the scorecard's row lock, so of two publishes at once the second one is
    refused), ValidationError with every problem keyed by path, or when nothing changed."""
    from scorecards.services.ingestion import scorecard_document_save
    from scorecards.services.scoring import score_run_start

    locked = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ScorecardMovedOn(draft=draft, current_version=locked.version)
    problems = draft_problems(document=document, scorecard=locked)
    if problems:
        raise ValidationError(problems)
    before = scorecard_accounts_assigned(scorecard_id=locked.pk)
    number = locked.version
    saved = scorecard_document_save(
        document=draft_document_clean(document=document),
        user=_user(user),
        scorecard=locked,
        note=note or "Published.",
    )
    if saved.version == number and allow_unchanged:
        return Published(version=saved.versions.get(number=number), run=None)
    if saved.version == number:
        raise ValidationError({"document": [f"Nothing changed: this is version {number} already."]})
    version = saved.versions.get(number=saved.version)
    after = scorecard_accounts_assigned(scorecard_id=saved.pk)
    run = score_run_start(
        as_of=timezone.localdate(), account_ids=sorted(before | after), user=_user(user)
    )
    scorecard_published(scorecard=saved, version=version, user=_user(user), run=run)
    scorecard.version = saved.version
    return Published(version=version, run=run)


@transaction.atomic
def scorecard_draft_publish_document(
    *, draft: ScorecardDraft, user: User, note: str = ""
) -> Published:
    """Publish a draft (see scorecard_publish_document); the draft is marked published and
    points at its version. ScorecardMovedOn when the scorecard moved on since the draft."""
    locked = ScorecardDraft.objects.select_for_update().select_related("scorecard").get(pk=draft.pk)
    if locked.status != ScorecardDraft.Status.DRAFT:
        raise ValidationError({"status": [f"Draft {draft.pk} was published already."]})
    note = note or locked.note or f"Published draft {locked.pk}."
    published = scorecard_publish_document(
        scorecard=locked.scorecard,
        document=locked.definition,
        user=user,
        note=note,
        expected_version=locked.base_version,
        draft=locked,
    )
    locked.status = ScorecardDraft.Status.PUBLISHED
    locked.published_version = published.version
    locked.note = note[:300]
    locked.save(update_fields=["status", "published_version", "note", "updated_at"])
    draft.status, draft.published_version = locked.status, published.version
    return published


@transaction.atomic
def scorecard_rollback(
    *, scorecard: Scorecard, number: int, user: User, note: str = ""
) -> Published:
    """Publish version ``number``'s document again, as the next version, with a note."""
    old = ScorecardVersion.objects.filter(scorecard=scorecard, number=number).first()
    if old is None:
        raise ValidationError({"version": [f"“{scorecard.name}” has no version {number}."]})
    document = scorecard_document_normalize(old.definition)
    note = f"Rollback to v{number}" + (f": {note}" if note else ".")
    return scorecard_publish_document(
        scorecard=scorecard, document=document, user=user, note=note[:300]
    )
