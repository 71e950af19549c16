"""Writes the pages own: a user's saved dashboard views."""

from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.forms import PAGE_SIZES
from front.models import SavedView

# The dashboard's filter parameters (accounts.forms.AccountFilterForm); anything else in a
# query string (a page number, tracking) is not part of a view.
SAVED_VIEW_KEYS = (
    "q",
    "tier",
    "band",
    "segment",
    "region",
    "owner",
    "renewal_within",
    "has_open_risk",
    "moved",
    "sort",
    "per_page",
)
# Values that filter nothing (the table's defaults) are left out of a saved view.
SAVED_VIEW_DEFAULTS = {("sort", "score"), ("per_page", str(PAGE_SIZES[0]))}


def saved_view_query_clean(query: str) -> str:
    """The query string reduced to the dashboard's filters, empty and default values dropped,
    in a stable order: "page=3&sort=score&tier=at_risk&owner=4&x=1" → "tier=at_risk&owner=4"."""
    pairs = parse_qsl(query.removeprefix("?"), keep_blank_values=False)
    return urlencode(
        sorted(
            (
                (key, value)
                for key, value in pairs
                if key in SAVED_VIEW_KEYS and value and (key, value) not in SAVED_VIEW_DEFAULTS
            ),
            key=lambda pair: SAVED_VIEW_KEYS.index(pair[0]),
        )
    )


@transaction.atomic
def saved_view_save(*, user: AbstractBaseUser, name: str, query: str) -> SavedView:
    """Save the dashboard's filters under `name` for `user`; the same name again replaces
    that view's filters (one view per name and user)."""
    view, _ = SavedView.objects.update_or_create(
        user=user, name=name.strip(), defaults={"query": saved_view_query_clean(query)}
    )
    return view


def saved_view_delete(*, user: AbstractBaseUser, pk: int) -> bool:
    """Delete one of the user's own views; another user's id deletes nothing."""
    deleted, _ = SavedView.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)
