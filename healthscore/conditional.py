"""Conditional GETs for the API: `ETag` and `Last-Modified` from the generations, and 304 Not
Modified when the client already holds the answer.

An integration polling a score every minute asks the same question until a write changes the
answer. The ETag of a GET is a digest of what the answer depends on: the path and query, the
caller's visible scope (every account, or the accounts they own), today's date, and the values
of the generations the endpoint reads (`healthscore.generations`). So it is known before the
view reads anything: a matching `If-None-Match` is answered 304 after authentication, one
cache round trip and no query, and any write that could change the answer bumps a generation
and so changes the ETag.
"""

import hashlib
import time
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views.decorators.http import condition

from accounts import roles
from healthscore.generations import generations_get

# A Last-Modified has whole seconds: a write in the same second as an answer could leave the
# date unchanged. An answer whose data changed less than this ago carries only the ETag.
LAST_MODIFIED_SETTLED_NS = 1_000_000_000


def _scope(user) -> str:
    if roles.user_sees_all_accounts(user):
        return "all"
    return f"user:{user.pk}" if user.is_authenticated else "anonymous"


class _Validators:
    """The ETag and Last-Modified of one request, computed once for both of Django's hooks."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def of(self, request) -> tuple[str, datetime | None]:
        cached = getattr(request, "_healthscore_validators", None)
        if cached is not None:
            return cached
        generations = generations_get(self.names)
        material = "\n".join(
            [
                request.get_full_path(),
                request.META.get("HTTP_ACCEPT", ""),
                _scope(request.user),
                timezone.localdate().isoformat(),
                repr(generations),
            ]
        )
        etag = f'"{hashlib.blake2b(material.encode(), digest_size=16).hexdigest()}"'
        newest = max(generations, default=0)
        last_modified = None
        if newest and time.time_ns() - newest >= LAST_MODIFIED_SETTLED_NS:
            last_modified = datetime.fromtimestamp(newest // 1_000_000_000, tz=UTC)
        request._healthscore_validators = (etag, last_modified)
        return etag, last_modified

    def etag(self, request, *args, **kwargs) -> str:
        return self.of(request)[0]

    def last_modified(self, request, *args, **kwargs) -> datetime | None:
        return self.of(request)[1]


def conditional_get(*depends_on: str):
    """Decorate an APIView's `get`: its answers carry ETag (and Last-Modified once settled),
    and a request whose If-None-Match (or If-Modified-Since) matches gets 304 without the view
    running. `depends_on` names every generation the answer reads. Errors raised by the view
    (404, 400) carry neither header."""
    validators = _Validators(tuple(depends_on))
    with_condition = condition(
        etag_func=validators.etag, last_modified_func=validators.last_modified
    )

    def decorate(get):
        conditional = with_condition(get)

        def get_with_validators(request, *args, **kwargs):
            response = conditional(request, *args, **kwargs)
            # The answer depends on who asks: a shared cache must not serve it to another key.
            patch_vary_headers(response, ("Authorization", "Cookie"))
            return response

        return get_with_validators

    return method_decorator(decorate)
