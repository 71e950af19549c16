"""Scorecard change pages (PRODUCT.md "Changing a scorecard safely"): versions, the draft
editor with its preview, publish with its rescore's progress, rollback. CS Ops and CS leaders
look; only CS Ops (and superusers) open, edit, publish, discard, rebase or roll back (403)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from front.forms import DraftEditForm, PublishForm, RollbackForm
from front.read_models import drafts as drafts_rm
from front.views.learning import _is_cs_ops, _require_cs_ops, _require_learning_role
from scorecards.models import Scorecard, ScorecardDraft, ScoreRun
from scorecards.services import drafts, publishing


def _get_draft_for_user(request: HttpRequest, pk: int) -> ScorecardDraft:
    _require_learning_role(request)
    return get_object_or_404(ScorecardDraft.objects.select_related("scorecard"), pk=pk)


def _problems_message(problem: ValidationError) -> str:
    if hasattr(problem, "error_dict"):
        return " ".join(f"{path}: {' '.join(m)}" for path, m in problem.message_dict.items())
    return " ".join(problem.messages)


@login_required
def scorecard_versions(request: HttpRequest, pk: int) -> HttpResponse:
    """Who changed what, when and why; how many current scores each version made."""
    _require_learning_role(request)
    page = drafts_rm.scorecard_versions_page(scorecard=get_object_or_404(Scorecard, pk=pk))
    context = {"page": page, "may_edit": _is_cs_ops(request.user), "sees_portfolio": True}
    return render(request, "front/scorecard_versions.html", context)


@require_POST
@login_required
def draft_new(request: HttpRequest, pk: int) -> HttpResponse:
    """A new draft: a copy of the scorecard's live definition, to edit."""
    _require_cs_ops(request)
    scorecard = get_object_or_404(Scorecard, pk=pk)
    draft = publishing.scorecard_draft_open(scorecard=scorecard, user=request.user)
    return redirect("front:draft", pk=draft.pk)


@login_required
def draft_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft editor (CS Ops save; the page lists every problem) and, for a draft without
    problems, its impact preview and backtest beside the published version."""
    draft = _get_draft_for_user(request, pk)
    form = None
    if request.method == "POST":
        _require_cs_ops(request)
        form = DraftEditForm(request.POST)
        if form.is_valid():
            try:
                publishing.scorecard_draft_save(
                    draft=draft,
                    document=form.edited_document(),
                    note=form.cleaned_data["note"],
                )
            except ValidationError as problem:
                messages.error(request, _problems_message(problem))
            return redirect("front:draft", pk=draft.pk)
    editor = drafts_rm.draft_editor_page(draft=draft)
    form = form or DraftEditForm(initial={"document": editor.document_text, "note": draft.note})
    context = {
        "editor": editor,
        "draft": draft,
        "preview": editor.preview,
        "form": form,
        "may_edit": _is_cs_ops(request.user),
        "sees_portfolio": True,
    }
    return render(request, "front/draft.html", context)


@require_POST
@login_required
def draft_publish(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft_for_user(request, pk)
    _require_cs_ops(request)
    form = PublishForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        published = publishing.scorecard_draft_publish_document(
            draft=draft, user=request.user, note=note
        )
    except publishing.ScorecardMovedOn as moved:
        messages.error(request, moved.message)
        return redirect("front:draft", pk=draft.pk)
    except ValidationError as problem:
        messages.error(request, "Not published. " + _problems_message(problem))
        return redirect("front:draft", pk=draft.pk)
    messages.success(
        request, f"Published as version {published.version.number} of {draft.scorecard}."
    )
    return redirect("front:publish-run", pk=published.run.pk)


@require_POST
@login_required
def draft_rebase(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen a draft on the scorecard's current version, its document kept."""
    draft = _get_draft_for_user(request, pk)
    _require_cs_ops(request)
    publishing.scorecard_draft_rebase(draft=draft, user=request.user)
    messages.info(request, "Rebased on the current version: check the preview, then publish.")
    return redirect("front:draft", pk=draft.pk)


@require_POST
@login_required
def draft_discard(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft_for_user(request, pk)
    _require_cs_ops(request)
    try:
        drafts.scorecard_draft_discard(draft=draft)
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
        return redirect("front:draft", pk=draft.pk)
    messages.success(request, f"Draft {pk} discarded; nothing changed.")
    return redirect("front:scorecard-versions", pk=draft.scorecard_id)


@require_POST
@login_required
def scorecard_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    _require_cs_ops(request)
    scorecard = get_object_or_404(Scorecard, pk=pk)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the version to roll back to.")
        return redirect("front:scorecard-versions", pk=pk)
    try:
        published = publishing.scorecard_rollback(
            scorecard=scorecard,
            number=form.cleaned_data["version"],
            user=request.user,
            note=form.cleaned_data["note"],
        )
    except ValidationError as problem:
        messages.error(request, _problems_message(problem))
        return redirect("front:scorecard-versions", pk=pk)
    messages.success(request, f"Rolled back: version {published.version.number} published.")
    return redirect("front:publish-run", pk=published.run.pk)


@login_required
def publish_run(request: HttpRequest, pk: int) -> HttpResponse:
    """A publish's rescore with its progress; the partial is polled until the run ends."""
    _require_learning_role(request)
    run = get_object_or_404(ScoreRun, pk=pk)
    template = "front/partials/_publish_run.html"
    if request.headers.get("HX-Request") != "true":
        template = "front/publish_run.html"
    return render(request, template, {"run": run, "sees_portfolio": True})
