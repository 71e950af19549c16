"""The backtest page of a scorecard and the impact preview of its drafts (PRODUCT.md
"Learning from renewals"): for CS Ops and CS leaders; only CS Ops open, publish or discard a
draft."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import roles
from front.forms import BacktestHorizonForm
from front.read_models import learning as learning_rm
from scorecards.learning import backtest, maths, runs
from scorecards.learning import selectors as learning_selectors
from scorecards.models import BacktestRun, Scorecard, ScorecardDraft
from scorecards.services import drafts


def _is_cs_ops(user) -> bool:
    return user.is_superuser or roles.CS_OPS in roles.user_roles(user)


def _require_learning_role(request: HttpRequest) -> None:
    """Backtests and previews are for CS Ops and CS leaders; only CS Ops change scorecards."""
    if not learning_selectors.may_backtest(request.user):
        raise PermissionDenied("Backtests are for CS Ops and CS leaders.")


def _require_cs_ops(request: HttpRequest) -> None:
    if not _is_cs_ops(request.user):
        raise PermissionDenied("Only CS Ops change scorecards.")


def _get_draft_for_user(request: HttpRequest, pk: int) -> ScorecardDraft:
    _require_learning_role(request)
    return get_object_or_404(ScorecardDraft.objects.select_related("scorecard"), pk=pk)


def _learning_context(request: HttpRequest, **context) -> dict:
    return {"may_edit": _is_cs_ops(request.user), "sees_portfolio": True, **context}


def _posted_horizon(request: HttpRequest) -> int | None:
    """The horizon of a POST from the backtest page (the default when none is posted), or None
    with the form's error as a message when it is invalid: nothing is started then."""
    form = BacktestHorizonForm(request.POST)
    if form.is_valid():
        return form.horizon_days()
    messages.error(request, " ".join(form.errors["horizon"]))
    return None


def _backtest_redirect(scorecard: Scorecard, horizon_days: int | None = None) -> HttpResponse:
    """Back to the backtest page, at the horizon when it is not the default."""
    url = reverse("front:backtest", kwargs={"pk": scorecard.pk})
    if horizon_days not in (None, backtest.DEFAULT_HORIZON_DAYS):
        url += "?" + urlencode({"horizon": horizon_days})
    return redirect(url)


@login_required
def scorecard_backtest(request: HttpRequest, pk: int) -> HttpResponse:
    """AUC, band churn rates and lift, per-measure AUC, calibration and the suggestion, at the
    horizon chosen in the query (the default when it is missing or invalid)."""
    _require_learning_role(request)
    scorecard = get_object_or_404(Scorecard, pk=pk)
    form = BacktestHorizonForm(request.GET)
    form.is_valid()
    page = learning_rm.backtest_page(scorecard=scorecard, horizon_days=form.horizon_days())
    context = _learning_context(request, page=page, horizon_form=form)
    return render(request, "front/backtest.html", context)


@require_POST
@login_required
def scorecard_backtest_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the backtest and optimizer at the posted horizon to a worker (large portfolios);
    the page at that horizon shows its progress."""
    _require_learning_role(request)
    scorecard = get_object_or_404(Scorecard, pk=pk)
    horizon_days = _posted_horizon(request)
    if horizon_days is not None:
        runs.backtest_run_start(scorecard=scorecard, user=request.user, horizon_days=horizon_days)
    return _backtest_redirect(scorecard, horizon_days)


@login_required
def backtest_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial that the page polls every second; a finished (or failed) run
    reloads the page, which then shows its result."""
    _require_learning_role(request)
    run = get_object_or_404(BacktestRun.objects.select_related("scorecard"), pk=pk)
    response = render(request, "front/partials/_backtest_run.html", {"run": run})
    if run.status not in learning_selectors.RUNNING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@login_required
def scorecard_draft_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the optimizer's suggestion at the posted horizon as a draft (CS Ops) and show its
    impact."""
    _require_cs_ops(request)
    scorecard = get_object_or_404(Scorecard, pk=pk)
    horizon_days = _posted_horizon(request)
    if horizon_days is None:
        return _backtest_redirect(scorecard)
    report = learning_selectors.suggestion_of_latest_run(
        scorecard=scorecard, horizon_days=horizon_days
    )
    try:
        if report is not None:  # a large portfolio: the worker's fit, not a new one
            draft = drafts.scorecard_draft_create_from_report(
                scorecard=scorecard, report=report, user=request.user
            )
        else:
            draft = drafts.scorecard_draft_suggest(
                scorecard=scorecard, user=request.user, horizon_days=horizon_days
            )
    except maths.InsufficientOutcomes as problem:
        messages.error(request, str(problem))
        return _backtest_redirect(scorecard, horizon_days)
    return redirect("front:draft", pk=draft.pk)
