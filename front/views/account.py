"""The CSM's pages: the dashboard and the account page, with risk actions and sentiment entry.

These pages show scores and risks side by side. Risk sits above scorecards in the import
layers (accounts ← scorecards ← risk), so the pages that combine them are composed here: the
score read-models come from scorecards.selectors_web, and recording a sentiment (a scorecards
service) is followed, from here, by the risk evaluation of that account.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from accounts.forms import AccountFilterForm
from accounts.models import Account
from accounts.selectors import accounts_visible_to
from risk import services
from risk.choices import UNRESOLVED_STATUSES
from risk.forms import RiskTransitionForm
from risk.models import Risk
from risk.services.lifecycle import risk_transitions_allowed
from scorecards import selectors_web
from scorecards.forms_web import SentimentForm
from scorecards.services.sentiment import sentiment_record

RISKS_SHOWN = 20


# --- Access --------------------------------------------------------------------------------------


def _get_account_for_user(request: HttpRequest, pk: int) -> Account:
    """An account the user may see, else 404: another CSM's account does not exist for them."""
    return get_object_or_404(accounts_visible_to(user=request.user).select_related("owner"), pk=pk)


def _may_record_sentiment(user, account: Account) -> bool:
    """Sentiment is the owning CSM's read of the account (PRODUCT.md, Roles)."""
    return user.is_superuser or (
        roles.CSM in roles.user_roles(user) and account.owner_id == user.pk
    )


def _get_risk_for_user(request: HttpRequest, pk: int) -> Risk:
    """A risk on an account the user sees (else 404) that the user may change (else 403)."""
    visible = Risk.objects.filter(account__in=accounts_visible_to(user=request.user))
    risk = get_object_or_404(visible.select_related("account__owner"), pk=pk)
    if not services.risk_can_change(request.user, risk):
        raise PermissionDenied("Only the account's owner, a CS leader or CS Ops change its risks.")
    return risk


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- Risk read-models ----------------------------------------------------------------------------


def _with_open_risks(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """Annotate each account's number of unresolved risks: a correlated count on the
    (account, status) index, evaluated only for the rows shown (or filtered on)."""
    open_risks = (
        Risk.objects.filter(account=OuterRef("pk"), status__in=UNRESOLVED_STATUSES)
        .order_by()
        .values("account")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return accounts.annotate(open_risks=Coalesce(Subquery(open_risks), Value(0)))


@dataclass(frozen=True)
class RiskLine:
    risk: Risk
    form: RiskTransitionForm | None


def _account_risks(
    *, account: Account, user, bound: RiskTransitionForm | None = None, bound_pk: int = 0
) -> list[RiskLine]:
    """The account's latest risks, unresolved first, each with the form of the moves the user
    may make (three queries). `bound` replaces the form of risk `bound_pk` (its errors)."""
    risks = (
        Risk.objects.filter(account=account)
        .select_related("account")
        .prefetch_related("events__by")
        .order_by("-opened_at", "-pk")[:RISKS_SHOWN]
    )
    lines = []
    for risk in risks:
        allowed = risk_transitions_allowed(risk=risk)
        form = None
        if allowed and services.risk_can_change(user, risk):
            form = bound if risk.pk == bound_pk else RiskTransitionForm(allowed=allowed)
        lines.append(RiskLine(risk=risk, form=form))
    return sorted(lines, key=lambda line: not line.risk.is_open)


def _risk_timeline(risks: list[RiskLine]) -> list[selectors_web.TimelineEntry]:
    """Each risk's opening and every move people or rules made on it."""
    entries = []
    for risk in (line.risk for line in risks):
        entries.append(
            selectors_web.TimelineEntry(
                on=timezone.localdate(risk.opened_at),
                kind="risk",
                title=f"Risk raised: {risk.get_risk_type_display()} "
                f"({risk.get_severity_display().lower()})",
                detail=risk.raised_by,
            )
        )
        entries += [
            selectors_web.TimelineEntry(
                on=timezone.localdate(event.at),
                kind="risk",
                title=f"{risk.get_risk_type_display()}: {event.get_to_status_display()}",
                detail=event.note,
                by=(event.by.get_full_name() or event.by.username) if event.by else "",
            )
            for event in risk.events.all()
            if event.from_status
        ]
    return entries


def _timeline(*, account: Account, risks: list[RiskLine]) -> list[selectors_web.TimelineEntry]:
    return selectors_web.timeline_merge(
        selectors_web.account_timeline(account=account), _risk_timeline(risks)
    )


# --- Dashboard -----------------------------------------------------------------------------------


def _filter_form(request: HttpRequest, accounts: QuerySet[Account]) -> AccountFilterForm:
    choices = selectors_web.filter_choices(accounts=accounts)
    form = AccountFilterForm(
        request.GET or None,
        bands=selectors_web.band_palette().filter_labels,
        segments=choices["segments"],
        regions=choices["regions"],
        owners=choices["owners"] if roles.user_sees_all_accounts(request.user) else None,
    )
    form.is_valid()
    return form


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """My accounts by health; htmx requests (sort, filter, page) get just the table."""
    accounts = _with_open_risks(accounts_visible_to(user=request.user))
    form = _filter_form(request, accounts)
    today = timezone.localdate()
    table = selectors_web.dashboard_page(
        accounts=accounts,
        filters=selectors_web.DashboardFilters(**form.filters()),
        today=today,
        page_number=request.GET.get("page"),
        per_page=form.page_size(),
    )
    context = {"form": form, "table": table, "nav": "dashboard"}
    if _is_htmx(request):
        return render(request, "accounts/partials/_account_table.html", context)
    context["summary"] = selectors_web.dashboard_summary(accounts=accounts, today=today)
    context["sees_portfolio"] = roles.user_sees_all_accounts(request.user)
    return render(request, "accounts/dashboard.html", context)


# --- Account page --------------------------------------------------------------------------------


def _account_context(request: HttpRequest, account: Account, **extra) -> dict:
    """Everything the account page shows; `extra` adds to it or replaces a part."""
    today = timezone.localdate()
    risks = extra.pop("risks", None) or _account_risks(account=account, user=request.user)
    score = selectors_web.account_score(account=account, today=today)
    return {
        "account": account,
        "score": score,
        "likelihood": selectors_web.account_renewal_likelihood(snapshot=score.snapshot),
        "contacts": selectors_web.account_contacts(account=account, today=today),
        "risks": risks,
        "timeline": _timeline(account=account, risks=risks),
        "sentiment_form": SentimentForm(),
        "may_record_sentiment": _may_record_sentiment(request.user, account),
        "sees_portfolio": roles.user_sees_all_accounts(request.user),
        **extra,
    }


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = _get_account_for_user(request, pk)
    return render(request, "accounts/account_detail.html", _account_context(request, account))


@require_POST
@login_required
def account_sentiment(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a sentiment, rescore the account at once and evaluate its risks. htmx gets the
    form back (with its errors, status 200) and, once recorded, the score, risks and timeline
    swapped out of band."""
    account = _get_account_for_user(request, pk)
    if not _may_record_sentiment(request.user, account):
        raise PermissionDenied("Only the account's CSM records its sentiment.")
    form = SentimentForm(request.POST)
    if not form.is_valid():
        return _sentiment_invalid(request, account, form)
    today = timezone.localdate()
    _sentiment_record_and_evaluate(account=account, form=form, user=request.user, as_of=today)
    if not _is_htmx(request):
        return redirect("risk:account-detail", pk=account.pk)
    context = _account_context(request, account, sentiment_saved=True)
    return render(request, "risk/partials/_sentiment_saved.html", context)


def _sentiment_invalid(request: HttpRequest, account: Account, form: SentimentForm):
    if _is_htmx(request):
        context = {"account": account, "sentiment_form": form}
        return render(request, "scorecards/partials/_sentiment_form.html", context)
    context = _account_context(request, account, sentiment_form=form)
    return render(request, "accounts/account_detail.html", context)


def _sentiment_record_and_evaluate(*, account: Account, form: SentimentForm, user, as_of: date):
    """The score first (scorecards), then the risks that follow from it (risk): a low
    sentiment shows as a risk in the same response. The finished rescore also sends the
    evaluation task; running it here as well is harmless (raising a risk again updates it)
    and does not leave the page waiting on a worker."""
    sentiment_record(
        account=account,
        score_1_to_5=form.cleaned_data["score"],
        comment=form.cleaned_data["comment"],
        user=user,
        as_of=as_of,
    )
    services.risks_evaluate_for_account(account=account, as_of=as_of)


@require_POST
@login_required
def risk_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge, mitigate, resolve or close a risk with a note. htmx gets the risk list
    (with the lifecycle's refusal, if any) and the timeline out of band."""
    risk = _get_risk_for_user(request, pk)
    form = RiskTransitionForm(request.POST, allowed=risk_transitions_allowed(risk=risk))
    if form.is_valid():
        try:
            services.risk_transition(risk=risk, user=request.user, **form.cleaned_data)
        except services.RiskTransitionError as refusal:
            form.add_error(None, refusal.message)
    if not form.errors and not _is_htmx(request):
        return redirect("risk:account-detail", pk=risk.account_id)
    bound_pk = risk.pk if form.errors else 0
    risks = _account_risks(account=risk.account, user=request.user, bound=form, bound_pk=bound_pk)
    if not _is_htmx(request):
        context = _account_context(request, risk.account, risks=risks)
        return render(request, "accounts/account_detail.html", context)
    context = {"account": risk.account, "risks": risks}
    context["timeline"] = _timeline(account=risk.account, risks=risks)
    return render(request, "risk/partials/_risks.html", context)
