"""The account page: score and breakdown, contacts, risks with their actions and sentiment
entry. Recording a sentiment (a scorecards service) is followed, from here, by the risk
evaluation of that account, since front is the layer that sees both."""

from collections.abc import Callable
from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from accounts.models import Account
from front.access import (
    get_account_for_user,
    get_risk_for_user,
    is_htmx,
    may_edit_relationship,
    may_record_sentiment,
)
from front.forms import (
    ContactAddForm,
    ContactLeftForm,
    ContactRoleForm,
    RiskTransitionForm,
    SentimentForm,
    TouchpointForm,
)
from front.fragments import Fragment, PageParts, PageValue, lazy
from front.read_models import account as account_rm
from front.read_models import work as work_rm
from front.read_models.risks import account_risks, risk_and_account_timeline
from healthscore.generations import ACCOUNTS, RISKS, SCORECARDS, SCORES, TASKS
from risk import services
from risk.services.lifecycle import risk_transitions_allowed
from scorecards.services.sentiment import sentiment_record


def _account_context(request: HttpRequest, account: Account, **extra) -> dict:
    """Everything the account page shows, each part computed on first use (a page served
    from the cache computes none); `extra` adds to it or replaces a part."""
    today, user = timezone.localdate(), request.user
    score = lazy(lambda: account_rm.account_score(account=account, today=today))
    risks = extra.pop("risks", None) or lazy(lambda: account_risks(account=account, user=user))
    return {
        "account": account,
        "score": score,
        "likelihood": lazy(lambda: account_rm.account_renewal_likelihood(snapshot=score.snapshot)),
        "contacts": lazy(lambda: account_rm.account_contacts(account=account, today=today)),
        "risks": risks,
        "timeline": lazy(lambda: risk_and_account_timeline(account=account, risks=list(risks))),
        "sentiment_form": lazy(SentimentForm),
        "sentiment_url": _sentiment_url(account),
        "may_record_sentiment": may_record_sentiment(user, account),
        "sees_portfolio": roles.user_sees_all_accounts(user),
        "tasks": lazy(lambda: work_rm.account_tasks(account=account, user=user, today=today)),
        "may_edit_relationship": may_edit_relationship(user, account),
        "today": today,
        **extra,
    }


def _sentiment_url(account: Account) -> str:
    return reverse("front:account-sentiment", args=[account.pk])


def _account_fragments(request: HttpRequest, account: Account, context: dict) -> dict:
    """The account page's parts, keyed like the read-models they show; the risks and tasks
    by the user too (which moves they may make). The heading is rendered every time."""
    of_account = {"account": account, "today": context["today"]}
    mine = {**of_account, "user": request.user.pk}
    fragments = {
        "score": Fragment(
            "front/partials/_account_score.html",
            (SCORES, ACCOUNTS, SCORECARDS),
            of_account,
            reads=("score", "likelihood"),
        ),
        "risks": Fragment(
            "front/partials/_risk_list.html", (RISKS, TASKS, ACCOUNTS), mine, reads=("risks",)
        ),
        "tasks": Fragment(
            "front/partials/_tasks.html",
            (TASKS, RISKS, ACCOUNTS),
            mine,
            reads=("tasks", "task_form", "task_form_pk"),
        ),
        "contacts": Fragment(
            "front/partials/_contacts.html", (ACCOUNTS,), of_account, reads=("contacts",)
        ),
        "timeline": Fragment(
            "front/partials/_timeline.html",
            (SCORES, RISKS, ACCOUNTS),
            {"account": account},
            reads=("timeline",),
        ),
    }
    if context["may_record_sentiment"]:
        fragments["sentiment"] = Fragment(
            "front/partials/_sentiment_form.html",
            (),
            {},  # the same form for every account, but for its address
            reads=("sentiment_form", "sentiment_saved"),
            per_response={"sentiment_url": context["sentiment_url"]},
        )
    if context["may_edit_relationship"]:
        fragments["relationship"] = Fragment(
            "front/partials/_relationship.html",
            (),  # the forms' summaries, the same for every account but for their addresses
            of_account,
            reads=("account", *RELATIONSHIP_FORMS, "relationship_saved"),
        )
    return fragments


# The relationship card's forms, by the slug of their address: the form's context name (its
# template is front/partials/_<name>.html) and the empty form. None is in a page's context
# unless the response brings it (with its errors, or opened without JavaScript): each is
# fetched when its summary is first opened (front.views.relationship.relationship_form).
RELATIONSHIP_FORM_SLUGS: dict[str, tuple[str, Callable[[Account, date], forms.Form]]] = {
    "touchpoint": (
        "touchpoint_form",
        lambda account, today: TouchpointForm(account=account, today=today),
    ),
    "contact-add": ("contact_add_form", lambda account, today: ContactAddForm()),
    "contact-role": ("contact_role_form", lambda account, today: ContactRoleForm(account=account)),
    "contact-left": (
        "contact_left_form",
        lambda account, today: ContactLeftForm(account=account, today=today),
    ),
}
RELATIONSHIP_FORMS = tuple(name for name, _ in RELATIONSHIP_FORM_SLUGS.values())


def account_context(request: HttpRequest, account: Account, **extra) -> dict:
    """What the account page shows (used by the task and relationship views too)."""
    return _account_context(request, account, **extra)


def account_page(request: HttpRequest, account: Account, **extra) -> HttpResponse:
    """The whole account page. Its parts come from the cache, but those that `extra` replaces
    (a bound form with its errors), which are rendered for this response only."""
    context = _account_context(request, account, **extra)
    fragments = _account_fragments(request, account, context)
    # The likelihood as such (it may be None), fetched with the fragments.
    likelihood = PageValue(
        "account_renewal_likelihood",
        (SCORES, SCORECARDS),
        {"account": account, "today": context["today"]},
        compute=context["likelihood"].resolve,
    )
    context["parts"] = PageParts(
        request, context, fragments, values={"likelihood": likelihood}, fresh=extra
    )
    return render(request, "front/account_detail.html", context)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return account_page(request, get_account_for_user(request, pk))


@require_POST
@login_required
def account_sentiment(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a sentiment, rescore the account at once and evaluate its risks. htmx gets the
    form back (with its errors, status 200) and, once recorded, the score, risks and timeline
    swapped out of band."""
    account = get_account_for_user(request, pk)
    if not may_record_sentiment(request.user, account):
        raise PermissionDenied("Only the account's CSM records its sentiment.")
    form = SentimentForm(request.POST)
    if not form.is_valid():
        return _sentiment_invalid(request, account, form)
    today = timezone.localdate()
    _sentiment_record_and_evaluate(account=account, form=form, user=request.user, as_of=today)
    if not is_htmx(request):
        return redirect("front:account-detail", pk=account.pk)
    context = _account_context(request, account, sentiment_saved=True)
    return render(request, "front/partials/_sentiment_saved.html", context)


def _sentiment_invalid(request: HttpRequest, account: Account, form: SentimentForm):
    if is_htmx(request):
        context = {"sentiment_form": form, "sentiment_url": _sentiment_url(account)}
        return render(request, "front/partials/_sentiment_form.html", context)
    return account_page(request, account, sentiment_form=form)


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
    risk = get_risk_for_user(request, pk)
    form = RiskTransitionForm(request.POST, allowed=risk_transitions_allowed(risk=risk))
    if form.is_valid():
        try:
            services.risk_transition(risk=risk, user=request.user, **form.cleaned_data)
        except services.RiskTransitionError as refusal:
            form.add_error(None, refusal.message)
    if not form.errors and not is_htmx(request):
        return redirect("front:account-detail", pk=risk.account_id)
    bound_pk = risk.pk if form.errors else 0
    risks = account_risks(account=risk.account, user=request.user, bound=form, bound_pk=bound_pk)
    if not is_htmx(request):
        return account_page(request, risk.account, risks=risks)
    context = {"account": risk.account, "risks": risks}
    context["timeline"] = risk_and_account_timeline(account=risk.account, risks=risks)
    return render(request, "front/partials/_risks.html", context)
