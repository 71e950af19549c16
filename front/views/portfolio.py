"""The portfolio page for CS leaders and CS Ops, and its CSV download."""

import csv
from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts import roles
from accounts.models import Account
from accounts.selectors import accounts_visible_scope, accounts_visible_to
from front.fragments import Fragment, PageParts, lazy
from front.read_models import portfolio as portfolio_rm
from front.read_models import work as work_rm
from healthscore.generations import ACCOUNTS, RISKS, SCORECARDS, SCORES, TASKS
from scorecards.learning import selectors as learning_selectors


def _require_portfolio_role(request: HttpRequest) -> None:
    """The portfolio is for those who see every account (leaders, CS Ops); a CSM's book is
    the dashboard."""
    if not roles.user_sees_all_accounts(request.user):
        raise PermissionDenied("The portfolio is for CS leaders and CS Ops.")


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    _require_portfolio_role(request)
    user, today = request.user, timezone.localdate()
    context = {
        "portfolio": lazy(
            lambda: portfolio_rm.portfolio_overview(
                accounts=accounts_visible_to(user=user), today=today
            )
        ),
        "backtest_scorecards": lazy(lambda: learning_selectors.backtest_scorecards(user=user)),
        "tasks_by_csm": lazy(lambda: work_rm.tasks_by_csm(today=today)),
        "nav": "portfolio",
        "sees_portfolio": True,
    }
    context["parts"] = PageParts(request, context, _portfolio_fragments(request, today))
    return render(request, "front/portfolio.html", context)


def _portfolio_fragments(request: HttpRequest, today: date) -> dict[str, Fragment]:
    scope = accounts_visible_scope(user=request.user)
    return {
        "backtest_links": Fragment(
            "front/partials/_backtest_links.html",
            (SCORECARDS,),
            {"may_backtest": learning_selectors.may_backtest(request.user)},
            reads=("backtest_scorecards",),
        ),
        # The open tasks by CSM sit among the rollups, shown with them: their generations too.
        "overview": Fragment(
            "front/partials/_portfolio_overview.html",
            (SCORES, ACCOUNTS, SCORECARDS, TASKS, RISKS),
            {"scope": scope, "today": today},
            reads=("portfolio", "tasks_by_csm"),
        ),
    }


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
