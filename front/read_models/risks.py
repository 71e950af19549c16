"""Risks on the pages: open-risk counts for the accounts table, an account's risks with the
moves the user may make, and the account timeline with the risks' steps merged in."""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from front.forms import RiskTransitionForm
from front.read_models import account as account_rm
from playbooks.selectors import risks_with_all_tasks_finished
from risk import services
from risk.choices import UNRESOLVED_STATUSES
from risk.models import Risk
from risk.services.lifecycle import risk_transitions_allowed

RISKS_SHOWN = 20


def with_open_risks(accounts: QuerySet[Account]) -> QuerySet[Account]:
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
    # All its tasks are done or skipped: the page offers to resolve it.
    offer_resolve: bool = False


def account_risks(
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
    risks = list(risks)
    finished = risks_with_all_tasks_finished(risk_ids=[risk.pk for risk in risks if risk.is_open])
    lines = []
    for risk in risks:
        allowed = risk_transitions_allowed(risk=risk)
        form = None
        if allowed and services.risk_can_change(user, risk):
            form = bound if risk.pk == bound_pk else RiskTransitionForm(allowed=allowed)
        offer = risk.pk in finished and form is not None
        lines.append(RiskLine(risk=risk, form=form, offer_resolve=offer))
    return sorted(lines, key=lambda line: not line.risk.is_open)


def _risk_timeline(risks: list[RiskLine]) -> list[account_rm.TimelineEntry]:
    """Each risk's opening and every move people or rules made on it."""
    entries = []
    for risk in (line.risk for line in risks):
        entries.append(
            account_rm.TimelineEntry(
                on=timezone.localdate(risk.opened_at),
                kind="risk",
                title=f"Risk raised: {risk.get_risk_type_display()} "
                f"({risk.get_severity_display().lower()})",
                detail=risk.raised_by,
            )
        )
        entries += [
            account_rm.TimelineEntry(
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


def risk_and_account_timeline(
    *, account: Account, risks: list[RiskLine]
) -> list[account_rm.TimelineEntry]:
    return account_rm.timeline_merge(
        account_rm.account_timeline(account=account), _risk_timeline(risks)
    )
