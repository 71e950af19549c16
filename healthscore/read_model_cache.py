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
page number, a scope key such as "owner:5") by its repr. A read-model that starts showing
something new must name that something's generation, or its page will show it stale.

`cache_keys` and `cache_found` fetch several entries of a page at once (the rendered
fragments of front/fragments.py): one round trip for all their generations, one for all
the entries. Within a web request (`request_cache_scope`), the generations are read once and
what the request computes is stored in one round trip when it ends, rather than one per
read-model and fragment: a first view of the account page made 26 round trips to Redis.
"""

import functools
import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import models

from healthscore.generations import ALL, generations_get, generations_read_once

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
# Cached fragments are rendered HTML: a deploy that changes a template must not serve the
# old markup.
FINGERPRINTED_TEMPLATES = "templates"
# An entry is unreachable after a bump; this only frees the memory of those never read again.
TIMEOUT_SECONDS = 3600
# What an unreadable entry (another shape, a lost module) raises while it is unpickled.
UNREADABLE = (pickle.UnpicklingError, AttributeError, ImportError, TypeError, EOFError)


def _code_fingerprint() -> str:
    """A digest of the product's Python code and templates: a deploy that changes a
    read-model, the dataclasses it returns or a cached fragment's markup starts with fresh
    keys, so no process unpickles an entry of another shape or serves old HTML. Read once at
    start (a few milliseconds)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=6)
    paths = [
        path
        for package in FINGERPRINTED_PACKAGES
        for path in sorted(root.joinpath(package).rglob("*.py"))
        if "migrations" not in path.parts
    ] + sorted(root.joinpath(FINGERPRINTED_TEMPLATES).rglob("*.html"))
    for path in paths:
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


@dataclass(frozen=True)
class CacheEntry:
    """One cached value a page shows, keyed like a read-model: by `name`, `arguments` and the
    values of the generations it `depends_on`."""

    name: str
    depends_on: tuple[str, ...]
    arguments: dict[str, Any]


def cache_keys(entries: Sequence[CacheEntry]) -> list[str]:
    """The entries' current keys, in order: one cache round trip for all their generations."""
    names = tuple(dict.fromkeys(name for entry in entries for name in entry.depends_on))
    current = dict(zip(names, generations_get(names), strict=True)) if names else {}
    return [
        read_model_key(entry.name, entry.arguments, [current[name] for name in entry.depends_on])
        for entry in entries
    ]


# What this request has computed and not stored yet (see request_cache_scope); None outside.
_unstored: ContextVar[dict[str, Any] | None] = ContextVar("read_models_unstored", default=None)


@contextmanager
def request_cache_scope() -> Iterator[None]:
    """A web request's use of the cache: each generation read once
    (`generations_read_once`), and the entries computed stored together when the block ends
    (one round trip). Reads in the block see the entries it has computed."""
    token = _unstored.set({})
    try:
        with generations_read_once():
            yield
    finally:
        unstored = _unstored.get()
        _unstored.reset(token)
        if unstored:
            _store(unstored)


def cache_found(keys: list[str]) -> dict[str, Any]:
    """The values stored under `keys` (one round trip); a key missing or unreadable is not
    in the answer."""
    if not keys:
        return {}
    unstored = _unstored.get() or {}
    computed = {key: unstored[key] for key in keys if key in unstored}
    wanted = [key for key in keys if key not in computed]
    if not wanted:
        return computed
    try:
        found = cache.get_many(wanted)
    except UNREADABLE:
        logger.warning("Unreadable cache entry among %s; computing them again", wanted)
        return computed
    return computed | {key: stored[0] for key, stored in found.items()}


def cache_store(values: dict[str, Any]) -> None:
    """Store the entries: at once, or within a request when it ends."""
    unstored = _unstored.get()
    if unstored is None:
        _store(values)
    else:
        unstored.update(values)


def _store(values: dict[str, Any]) -> None:
    # In a tuple, so that a value of None is cached too.
    cache.set_many({key: (value,) for key, value in values.items()}, timeout=TIMEOUT_SECONDS)


def read_model_cached(*depends_on: str):
    """Cache a keyword-only read-model function until a write bumps one of `depends_on`
    (generation names from `healthscore.generations`; all of them when none is named).

    The decorated function gains `.uncached`, the function itself."""
    names = tuple(depends_on) or ALL

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        name = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def cached(**kwargs: Any) -> T:
            (key,) = cache_keys([CacheEntry(name, names, kwargs)])
            found = cache_found([key])
            if key in found:
                return found[key]
            value = function(**kwargs)
            cache_store({key: value})
            return value

        cached.uncached = function
        return cached

    return decorate
