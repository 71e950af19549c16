from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts import roles
from accounts.models import Account


def accounts_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Every account query starts here, so an account outside a user's role is a 404
    everywhere by construction. CSMs see the accounts they own; leaders, CS Ops,
    integrations and superusers see all; anonymous users see none."""
    if roles.user_sees_all_accounts(user):
        return Account.objects.all()
    if not user.is_authenticated:
        return Account.objects.none()
    return Account.objects.filter(owner=user)
