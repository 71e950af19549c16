"""Generation counters: what makes a cached page or API answer unreachable once it is stale.

Pages and the API cache what changes only when somebody writes (a finished run, a sentiment,
a risk move, a scorecard publish, a contact). Instead of deleting entries, which would need to
know every key that a write affects, every cached entry is keyed with the values of the
generations it depends on, and each write that changes what pages show *bumps* its
generation: the next read builds a new key, and the old entries expire unread.

Lives in `healthscore` (outside the app layers) so that the lowest layer (accounts) can bump
and the highest (front) can read. Uses Django's default cache: Redis when REDIS_URL is set,
shared by every web process; the local-memory cache otherwise, which is right only for one
process (the dev server, tests).

A generation's value is the time of its last bump in nanoseconds, so it doubles as
Last-Modified, and a generation lost from the cache (eviction, an emptied Redis) comes back
as a new value that no cached entry was built with.
"""

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import transaction

# What each generation covers. A read that shows any of it depends on that generation.
SCORES = "scores"  # current scores, snapshots and measure values (runs, sentiment, pushes)
RISKS = "risks"  # risks and their events (evaluation, people's moves, snoozes)
ACCOUNTS = "accounts"  # accounts, owners, contacts, touchpoints, renewal outcomes, roles
SCORECARDS = "scorecards"  # scorecards, their versions, groups, measures, bands, exceptions
TASKS = "tasks"  # playbook tasks (made from risks, done, skipped)
SAVED_VIEWS = "saved_views"  # users' saved dashboard views
ALL = (SCORES, RISKS, ACCOUNTS, SCORECARDS, TASKS, SAVED_VIEWS)

KEY_PREFIX = "healthscore:generation:"
# Long enough to outlive any cached entry built on it (entries live an hour at most).
TIMEOUT_SECONDS = 7 * 24 * 3600


# The generations one web request has read (see generations_read_once); None outside one.
_read_in_request: ContextVar[dict[str, int] | None] = ContextVar("generations_read", default=None)


def _key(name: str) -> str:
    return f"{KEY_PREFIX}{name}"


def _write(names: Iterable[str]) -> None:
    now = time.time_ns()
    cache.set_many({_key(name): now for name in names}, timeout=TIMEOUT_SECONDS)
    read = _read_in_request.get()
    if read is not None:
        read.update(dict.fromkeys(names, now))  # this request's own writes show at once


@contextmanager
def generations_read_once() -> Iterator[None]:
    """Within the block (a web request: healthscore.read_model_cache.request_cache_scope),
    each generation is read from the cache once: a page of ten cached parts asks for their
    generations once, not ten times. The request then reads the cache as of its first read,
    as if it had run a moment earlier, and what it stores under a generation bumped
    meanwhile is never read again, as with any read racing a bump. The block's own bumps
    replace the values it holds, so that its next reads see its own writes."""
    token = _read_in_request.set({})
    try:
        yield
    finally:
        _read_in_request.reset(token)


class _BumpOnCommit:
    """One callback per transaction and set of names, however many rows the transaction
    writes (a loop of saves registers it once)."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def __call__(self) -> None:
        _write(self.names)


def generation_bump(*names: str, using: str | None = None) -> None:
    """Make every cached entry that depends on `names` unreachable.

    Bumped at once *and* when the transaction commits: at once, so that this transaction's
    own next read (a view that writes, then renders) does not find the old entry; on commit,
    because a reader that ran during the transaction still saw the old rows and may have
    cached them under the first bump."""
    unknown = set(names) - set(ALL)
    if unknown:
        raise ValueError(f"Unknown generations: {sorted(unknown)}")
    wanted = frozenset(names)
    _write(wanted)
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return
    pending = (callback for _, callback, _ in connection.run_on_commit)
    if not any(isinstance(c, _BumpOnCommit) and c.names == wanted for c in pending):
        transaction.on_commit(_BumpOnCommit(wanted), using=using)


def generations_get(names: Iterable[str]) -> tuple[int, ...]:
    """The current value of each generation, in the order asked (one cache round trip).
    A generation never bumped, or lost from the cache, starts now."""
    names = tuple(names)
    read = _read_in_request.get()
    if read is None:
        return _generations_fetch(names)
    unread = tuple(name for name in names if name not in read)
    if unread:
        read.update(zip(unread, _generations_fetch(unread), strict=True))
    return tuple(read[name] for name in names)


def _generations_fetch(names: tuple[str, ...]) -> tuple[int, ...]:
    found = cache.get_many([_key(name) for name in names])
    missing = {_key(name) for name in names} - found.keys()
    if missing:
        now = time.time_ns()
        for key in missing:
            # add: of two processes starting the same generation, the first one's value stays.
            cache.add(key, now, timeout=TIMEOUT_SECONDS)
        found.update(cache.get_many(list(missing)))
    return tuple(found.get(_key(name), 0) for name in names)


# Rows whose saves and deletes change what pages or the API show. Bulk writes (COPY, bulk_create,
# queryset updates) send no signal: the services that make them bump explicitly.
MODEL_GENERATIONS = {
    "accounts.Account": (ACCOUNTS,),
    "accounts.Contact": (ACCOUNTS,),
    "accounts.ContactChange": (ACCOUNTS,),
    "accounts.Touchpoint": (ACCOUNTS,),
    "accounts.RenewalOutcome": (ACCOUNTS, SCORES),  # outcomes refit the renewal likelihood
    "scorecards.Scorecard": (SCORECARDS,),
    "scorecards.ScorecardVersion": (SCORECARDS,),
    "scorecards.MeasureGroup": (SCORECARDS,),
    "scorecards.Measure": (SCORECARDS,),
    "scorecards.ScorecardMeasure": (SCORECARDS,),
    "scorecards.Band": (SCORECARDS,),
    "scorecards.ExceptionRule": (SCORECARDS,),
    "scorecards.MeasureValue": (SCORES,),
    "scorecards.ScoreSnapshot": (SCORES,),
    "scorecards.CurrentScore": (SCORES,),
    "scorecards.RenewalCalibration": (SCORES,),
    "risk.RiskRule": (RISKS,),
    "risk.Risk": (RISKS,),
    "risk.RiskEvent": (RISKS,),
    "playbooks.Task": (TASKS,),
    "front.SavedView": (SAVED_VIEWS,),
}


def _on_user_saved(sender, *, update_fields=None, **kwargs) -> None:
    # Every login saves last_login: that changes no page, and the 9 am logins must not empty
    # every cache. A new name or a new user does (owner names, the owner filter).
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    generation_bump(ACCOUNTS, using=kwargs.get("using"))


# Tables of millions of rows: no post_delete receiver, because any receiver makes Django load
# and signal every row of a delete (and of a cascade into them) instead of one DELETE. Their
# rows are deleted in bulk only, by code that bumps (or by account deletions, which bump
# ACCOUNTS, and a run's replaced snapshots, published with a bump).
WITHOUT_DELETE_SIGNAL = frozenset(
    {
        "scorecards.MeasureValue",
        "scorecards.ScoreSnapshot",
        "scorecards.CurrentScore",
        "risk.Risk",
        "risk.RiskEvent",
        "accounts.ContactChange",
    }
)


def generations_connect() -> None:
    """Bump the generations of MODEL_GENERATIONS when one of those rows is saved or deleted,
    and ACCOUNTS when a user changes (name, roles). Called once, from an AppConfig.ready()."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for label, names in MODEL_GENERATIONS.items():
        if not apps.is_installed(label.split(".")[0]):
            continue
        model = apps.get_model(label)
        receiver = _Receiver(names)
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"gen-save-{label}")
        if label not in WITHOUT_DELETE_SIGNAL:
            post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"gen-del-{label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                receiver,
                sender=field.remote_field.through,
                weak=False,
                dispatch_uid=f"gen-m2m-{label}-{field.name}",
            )
    user = get_user_model()
    post_save.connect(_on_user_saved, sender=user, dispatch_uid="gen-save-user")
    accounts_only = _Receiver((ACCOUNTS,))
    post_delete.connect(accounts_only, sender=user, weak=False, dispatch_uid="gen-del-user")
    m2m_changed.connect(
        accounts_only, sender=user.groups.through, weak=False, dispatch_uid="gen-m2m-user-groups"
    )


class _Receiver:
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(self, sender, **kwargs) -> None:
        generation_bump(*self.names, using=kwargs.get("using"))


def generation_bump_for(model, *, using: str | None = None) -> None:
    """Bump what `model`'s rows change (MODEL_GENERATIONS), for a bulk write that sends no
    signal (bulk_create, bulk_update, COPY, a queryset update)."""
    generation_bump(*MODEL_GENERATIONS[model._meta.label], using=using)
