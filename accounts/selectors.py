from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from accounts import roles
from accounts.models import Account, Contact


def accounts_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Every account query starts here, so an account outside a user's role is a 404
    everywhere by construction. CSMs see the accounts they own; leaders, CS Ops,
    integrations and superusers see all; anonymous users see none."""
    if roles.user_sees_all_accounts(user):
        return Account.objects.all()
    if not user.is_authenticated:
        return Account.objects.none()
    return Account.objects.filter(owner=user)


def accounts_visible_scope(*, user: AbstractBaseUser | AnonymousUser) -> str:
    """The accounts `accounts_visible_to(user)` selects, named: "all", "owner:<id>" or
    "none". Users with the same name see the same accounts, so a cached page part is keyed by
    it (compiling the queryset's SQL for a key costs more than the rest of a cached page)."""
    if roles.user_sees_all_accounts(user):
        return "all"
    if not user.is_authenticated:
        return "none"
    return f"owner:{user.pk}"


SEARCH_MIN_LENGTH = 2


def accounts_search(
    *, user: AbstractBaseUser | AnonymousUser, query: str, limit: int = 20
) -> list[Account]:
    """Accounts the user may see whose name or CRM id (external_id) contains `query`, by
    name; none for a query shorter than SEARCH_MIN_LENGTH."""
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH:
        return []
    found = accounts_visible_to(user=user).filter(
        Q(name__icontains=query) | Q(external_id__icontains=query)
    )
    return list(found.select_related("owner").order_by("name", "pk")[:limit])


def contacts_search(
    *, user: AbstractBaseUser | AnonymousUser, query: str, limit: int = 20
) -> list[Contact]:
    """Contacts of the accounts the user may see whose name or email contains `query`, by
    name (a CSM never finds another CSM's contacts)."""
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH:
        return []
    found = Contact.objects.filter(
        Q(name__icontains=query) | Q(email__icontains=query),
        account__in=accounts_visible_to(user=user),
    )
    return list(found.select_related("account").order_by("name", "pk")[:limit])
