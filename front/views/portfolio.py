"""The portfolio page for CS leaders and CS Ops, and its CSV download."""

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import roles
from accounts.models import Account
from accounts.selectors import accounts_visible_to
from front.read_models import portfolio as portfolio_rm
from front.read_models import work as work_rm
from scorecards.learning import selectors as learning_selectors


def _require_portfolio_role(request: HttpRequest) -> None:
    """The portfolio is for those who see every account (leaders, CS Ops); a CSM's book is
    the dashboard."""
    if not roles.user_sees_all_accounts(request.user):
        raise PermissionDenied("The portfolio is for CS leaders and CS Ops.")


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    _require_portfolio_role(request)
    overview = portfolio_rm.portfolio_overview(
        accounts=accounts_visible_to(user=request.user), today=timezone.localdate()
    )
    context = {"portfolio": overview, "nav": "portfolio", "sees_portfolio": True}
    context["backtest_scorecards"] = learning_selectors.backtest_scorecards(user=request.user)
    context["tasks_by_csm"] = work_rm.tasks_by_csm(today=timezone.localdate())
    return render(request, "front/portfolio.html", context)


class _Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a stream."""

    def write(self, line: str) -> str:
        return line


def accounts_csv_response(*, accounts: QuerySet[Account], name: str) -> StreamingHttpResponse:
    """The accounts as a streamed CSV download (portfolio_rm.portfolio_csv_rows)."""
    rows = portfolio_rm.portfolio_csv_rows(accounts=accounts, currency=settings.CURRENCY)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    filename = f"{name}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def portfolio_csv(request: HttpRequest) -> StreamingHttpResponse:
    _require_portfolio_role(request)
    return accounts_csv_response(accounts=accounts_visible_to(user=request.user), name="portfolio")
