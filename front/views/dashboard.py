"""The CSM's dashboard: my accounts by health, filtered, sorted and paged through htmx."""

from dataclasses import replace
from datetime import date

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import roles
from accounts.forms import AccountFilterForm
from accounts.models import Account
from accounts.selectors import accounts_visible_scope, accounts_visible_to
from front.access import is_htmx
from front.forms import SavedViewForm
from front.fragments import Fragment, PageParts, lazy
from front.read_models import bands as bands_rm
from front.read_models import dashboard as dashboard_rm
from front.read_models import work as work_rm
from front.read_models.risks import with_open_risks
from front.views.portfolio import accounts_csv_response
from healthscore.generations import (
    ACCOUNTS,
    RISKS,
    SAVED_VIEWS,
    SCORECARDS,
    SCORES,
    TASKS,
)


def _filter_form(request: HttpRequest, accounts: QuerySet[Account]) -> AccountFilterForm:
    choices = dashboard_rm.filter_choices(accounts=accounts)
    form = AccountFilterForm(
        request.GET or None,
        bands=bands_rm.band_palette().filter_labels,
        tiers=bands_rm.TIER_CHOICES,
        segments=choices["segments"],
        regions=choices["regions"],
        owners=choices["owners"] if roles.user_sees_all_accounts(request.user) else None,
    )
    form.is_valid()
    return form


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """My accounts by health; htmx requests (sort, filter, page) get just the table, with the
    summary cards swapped out of band (they follow the filters)."""
    context = _dashboard_context(request)
    fragments = _dashboard_fragments(request, context["today"])
    if is_htmx(request):
        swap = {"table": fragments["table"], "summary": fragments["summary_oob"]}
        parts = PageParts(request, context, swap)
        return HttpResponse(parts["table"] + parts["summary"])
    del fragments["summary_oob"]
    context["parts"] = PageParts(request, context, fragments)
    return render(request, "front/dashboard.html", context)


def _dashboard_context(request: HttpRequest) -> dict:
    """What the dashboard shows, each part computed on first use (a page served from the
    cache computes none)."""
    user, today = request.user, timezone.localdate()
    accounts = lazy(lambda: with_open_risks(accounts_visible_to(user=user)))
    form = lazy(lambda: _filter_form(request, accounts.resolve()))
    filters = lazy(lambda: dashboard_rm.DashboardFilters(**form.filters()))
    return {
        "form": form,
        "table": lazy(
            lambda: dashboard_rm.dashboard_page(
                accounts=accounts.resolve(),
                filters=filters.resolve(),
                today=today,
                page_number=request.GET.get("page"),
                per_page=form.page_size(),
            )
        ),
        "summary": lazy(
            lambda: dashboard_rm.dashboard_summary(
                accounts=accounts.resolve(), today=today, filters=filters.resolve()
            )
        ),
        "my_tasks": lazy(lambda: work_rm.my_tasks(user=user, today=today)),
        "inbox": lazy(lambda: work_rm.risk_inbox(accounts=accounts_visible_to(user=user))),
        "saved_views": lazy(lambda: list(user.saved_views.all())),
        "saved_view_form": lazy(lambda: SavedViewForm(initial={"query": request.GET.urlencode()})),
        "sees_portfolio": roles.user_sees_all_accounts(user),
        "nav": "dashboard",
        "today": today,
    }


def _dashboard_fragments(request: HttpRequest, today: date) -> dict[str, Fragment]:
    """The dashboard's parts, keyed like the read-models they show: the visible scope (the
    same accounts, whoever sees them), the query string (the filters), today; the user's own
    for My tasks and the saved views."""
    scope = accounts_visible_scope(user=request.user)
    mine = {"user": request.user.pk}
    summary = Fragment(
        "front/partials/_dashboard_summary.html",
        (SCORES, ACCOUNTS, SCORECARDS),
        {"scope": scope, "today": today},
        reads=("summary",),
        varies_with_query=True,
    )
    return {
        "table": Fragment(
            "front/partials/_account_table.html",
            (SCORES, RISKS, ACCOUNTS, SCORECARDS),
            {"scope": scope, "today": today},
            reads=("table", "form"),
            varies_with_query=True,
        ),
        "summary": summary,
        "summary_oob": replace(summary, extra={"summary_oob": True}),
        "my_tasks": Fragment(
            "front/partials/_my_tasks.html",
            (TASKS, RISKS, ACCOUNTS),
            {**mine, "today": today},
            reads=("my_tasks",),
        ),
        "inbox": Fragment(
            "front/partials/_risk_inbox.html", (RISKS, ACCOUNTS), {"scope": scope}, reads=("inbox",)
        ),
        "saved_views": Fragment(
            "front/partials/_saved_views.html",
            (SAVED_VIEWS,),
            mine,
            reads=("saved_views", "saved_view_form"),
            varies_with_query=True,
        ),
        # The filter form's choices: the scope's segments, regions and owners, the bands.
        "filters": Fragment(
            "front/partials/_dashboard_filters.html",
            (ACCOUNTS, SCORECARDS),
            {"scope": scope},
            reads=("form",),
            varies_with_query=True,
        ),
    }


@login_required
def dashboard_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The dashboard's table as CSV: every account that passes its filters, not one page."""
    accounts = with_open_risks(accounts_visible_to(user=request.user))
    form = _filter_form(request, accounts)
    filtered = dashboard_rm.dashboard_filtered(
        accounts=accounts,
        filters=dashboard_rm.DashboardFilters(**form.filters()),
        today=timezone.localdate(),
    )
    return accounts_csv_response(accounts=filtered, name="accounts")
