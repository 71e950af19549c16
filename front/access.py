"""Who may open and change what on the pages. Each helper loads through the user's visible
accounts, so another CSM's account, risk or task is a 404 (it does not exist for them), and
refuses a change the user's role does not allow with 403."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from accounts import roles
from accounts.models import Account
from accounts.selectors import accounts_visible_to
from playbooks import services as playbook_services
from playbooks.models import Task
from playbooks.selectors import tasks_visible_to
from risk import services
from risk.models import Risk


def get_account_for_user(request: HttpRequest, pk: int) -> Account:
    """An account the user may see, else 404: another CSM's account does not exist for them."""
    return get_object_or_404(accounts_visible_to(user=request.user).select_related("owner"), pk=pk)


def may_record_sentiment(user, account: Account) -> bool:
    """Sentiment is the owning CSM's read of the account (PRODUCT.md, Roles)."""
    return user.is_superuser or (
        roles.CSM in roles.user_roles(user) and account.owner_id == user.pk
    )


def get_risk_for_user(request: HttpRequest, pk: int) -> Risk:
    """A risk on an account the user sees (else 404) that the user may change (else 403)."""
    visible = Risk.objects.filter(account__in=accounts_visible_to(user=request.user))
    risk = get_object_or_404(visible.select_related("account__owner"), pk=pk)
    if not services.risk_can_change(request.user, risk):
        raise PermissionDenied("Only the account's owner, a CS leader or CS Ops change its risks.")
    return risk


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


RELATIONSHIP_ROLES = frozenset({roles.CS_LEADER, roles.CS_OPS})


def may_edit_relationship(user, account: Account) -> bool:
    """The owner records touchpoints and contacts; leaders and CS Ops may too (PRODUCT.md)."""
    return bool(
        user.is_superuser
        or account.owner_id == user.pk
        or roles.user_roles(user) & RELATIONSHIP_ROLES
    )


def get_account_for_relationship(request: HttpRequest, pk: int) -> Account:
    """An account the user sees (else 404) whose relationship they may record (else 403)."""
    account = get_account_for_user(request, pk)
    if not may_edit_relationship(request.user, account):
        raise PermissionDenied("Only the account's owner, a CS leader or CS Ops record this.")
    return account


def get_task_for_user(request: HttpRequest, pk: int) -> Task:
    """A task on an account the user sees (else 404) that the user may work (else 403)."""
    visible = tasks_visible_to(user=request.user).select_related("account__owner", "risk")
    task = get_object_or_404(visible, pk=pk)
    if not playbook_services.task_can_change(request.user, task):
        raise PermissionDenied("Only the account's owner, a CS leader or CS Ops work its tasks.")
    return task
