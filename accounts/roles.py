"""The four roles of PRODUCT.md, kept as Django groups (created by a migration)."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

CSM = "CSM"
CS_LEADER = "CS Leader"
CS_OPS = "CS Ops"
INTEGRATION = "Integration"

ALL_ROLES = (CSM, CS_LEADER, CS_OPS, INTEGRATION)

# Roles that see every account; everyone else sees only the accounts they own.
PORTFOLIO_ROLES = (CS_LEADER, CS_OPS, INTEGRATION)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The role names a user holds (cached on the user for the request)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_healthscore_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._healthscore_roles = cached
    return cached


def user_sees_all_accounts(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Leaders, CS Ops, integrations and superusers see the whole portfolio."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or bool(user_roles(user) & set(PORTFOLIO_ROLES))
