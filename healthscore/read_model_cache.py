"""Cached read-models: a page's (or an API answer's) numbers computed once, until a write
changes them.

Most of what the pages show (band counts, "changed since yesterday", renewals, sparklines,
rollups, the 180-day trend) changes only when a run finishes or a person writes something,
yet a team opening its dashboards at 9 am would recompute it on every request. A read-model
function (front/read_models, the API's rollups) decorated with `read_model_cached(...)` is
computed once per distinct call and served from the cache (Redis when REDIS_URL is set) until
one of the generations it names is bumped (`healthscore.generations`): the key holds those
generations' values, so after a bump the next request builds a new key and the stale entry
is never read again (it expires on its own).

The key is made of the call's arguments: a queryset by its SQL and parameters (so the user's
visible scope, `owner_id = 5` or every account, and any annotation are part of it), a model
instance by its primary key, a date by its ISO form, anything else (a filters dataclass, a
page number) by its repr. A read-model that starts showing something new must name that
something's generation, or its page will show it stale.
"""

import functools
import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import models

from healthscore.generations import ALL, generations_get

logger = logging.getLogger(__name__)

T = TypeVar("T")

KEY_PREFIX = "healthscore:read-model:"
FINGERPRINTED_PACKAGES = (
    "healthscore",
    "accounts",
    "metrics",
    "events",
    "scorecards",
    "risk",
    "playbooks",
    "front",
)
# An entry is unreachable after a bump; this only frees the memory of those never read again.
TIMEOUT_SECONDS = 3600


def _code_fingerprint() -> str:
    """A digest of the product's Python code: a deploy that changes a read-model or the
    dataclasses it returns starts with fresh keys, so no process unpickles an entry of another
    shape. Read once at start (a few milliseconds)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=6)
    for package in FINGERPRINTED_PACKAGES:
        for path in sorted(root.joinpath(package).rglob("*.py")):
            if "migrations" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


CODE_FINGERPRINT = _code_fingerprint()


def _key_part(value: Any) -> str:
    if isinstance(value, models.QuerySet):
        try:
            sql, params = value.query.sql_with_params()
        except EmptyResultSet:  # .none(): no SQL at all
            return f"{value.model._meta.label}:none"
        return f"{sql}|{params!r}"
    if isinstance(value, models.Model):
        return f"{value._meta.label}:{value.pk}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return repr(value)


def read_model_key(name: str, kwargs: dict[str, Any], generations: Iterable[int]) -> str:
    material = "\n".join(
        [*(f"{key}={_key_part(kwargs[key])}" for key in sorted(kwargs)), repr(tuple(generations))]
    )
    digest = hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
    return f"{KEY_PREFIX}{CODE_FINGERPRINT}:{name}:{digest}"


def read_model_cached(*depends_on: str, timeout: int = TIMEOUT_SECONDS):
    """Cache a keyword-only read-model function until a write bumps one of `depends_on`
    (generation names from `healthscore.generations`; all of them when none is named).

    The decorated function gains `.uncached`, the function itself."""
    names = tuple(depends_on) or ALL

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        name = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def cached(**kwargs: Any) -> T:
            key = read_model_key(name, kwargs, generations_get(names))
            try:
                found = cache.get(key)
            except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, EOFError):
                logger.warning("Unreadable cache entry for %s; computing it again", name)
                found = None
            if found is not None:
                return found[0]
            value = function(**kwargs)
            # In a tuple, so that a read-model whose answer is None is cached too.
            cache.set(key, (value,), timeout=timeout)
            return value

        cached.uncached = function
        return cached

    return decorate
