"""The CSM's dashboard: my accounts by health, filtered, sorted and paged through htmx."""

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import roles
from accounts.forms import AccountFilterForm
from accounts.models import Account
from accounts.selectors import accounts_visible_to
from front.access import is_htmx
from front.forms import SavedViewForm
from front.read_models import bands as bands_rm
from front.read_models import dashboard as dashboard_rm
from front.read_models import work as work_rm
from front.read_models.risks import with_open_risks
from front.views.portfolio import accounts_csv_response


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
    """My accounts by health; htmx requests (sort, filter, page) get just the table."""
    accounts = with_open_risks(accounts_visible_to(user=request.user))
    form = _filter_form(request, accounts)
    today = timezone.localdate()
    filters = dashboard_rm.DashboardFilters(**form.filters())
    table = dashboard_rm.dashboard_page(
        accounts=accounts,
        filters=filters,
        today=today,
        page_number=request.GET.get("page"),
        per_page=form.page_size(),
    )
    context = {"form": form, "table": table, "nav": "dashboard"}
    # The summary cards follow the filters: an htmx request swaps them out of band.
    context["summary"] = dashboard_rm.dashboard_summary(
        accounts=accounts, today=today, filters=filters
    )
    if is_htmx(request):
        context["summary_oob"] = True
        return render(request, "front/partials/_account_table.html", context)
    context["sees_portfolio"] = roles.user_sees_all_accounts(request.user)
    context["my_tasks"] = work_rm.my_tasks(user=request.user, today=today)
    context["inbox"] = work_rm.risk_inbox(accounts=accounts_visible_to(user=request.user))
    context["saved_views"] = list(request.user.saved_views.all())
    context["saved_view_form"] = SavedViewForm(initial={"query": request.GET.urlencode()})
    return render(request, "front/dashboard.html", context)


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
