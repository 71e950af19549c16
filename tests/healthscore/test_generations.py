"""Generations (healthscore/generations.py) and cached read-models
(healthscore/read_model_cache.py), on the local-memory cache each test gets."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache, caches
from django.db import transaction

from accounts import roles
from accounts.models import Account
from healthscore.generations import (
    ACCOUNTS,
    KEY_PREFIX,
    RISKS,
    SAVED_VIEWS,
    SCORES,
    TASKS,
    generation_bump,
    generations_get,
    generations_read_once,
)
from healthscore.read_model_cache import read_model_cached, request_cache_scope
from tests.accounts.factories import AccountFactory, ContactFactory, UserFactory

CALLS: list[dict] = []


@read_model_cached(SCORES)
def _scores_read_model(*, accounts, label: str):
    CALLS.append({"label": label, "count": accounts.count()})
    return None if label == "none" else f"{label}:{accounts.count()}"


@pytest.fixture(autouse=True)
def calls():
    CALLS.clear()
    return CALLS


def test_generation_bump_changes_only_the_named_generations():
    before = generations_get([SCORES, RISKS])
    generation_bump(SCORES)
    after = generations_get([SCORES, RISKS])
    assert (after[0] != before[0], after[1] == before[1]) == (True, True)


def test_generation_bump_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="Unknown generations: \\['score'\\]"):
        generation_bump("score")


def test_a_lost_generation_comes_back_with_a_new_value():
    from django.core.cache import cache

    (before,) = generations_get([SCORES])
    cache.clear()  # an emptied Redis
    assert generations_get([SCORES]) != (before,)


@pytest.mark.django_db
def test_saves_in_a_transaction_bump_at_once_and_once_more_on_commit(
    django_capture_on_commit_callbacks,
):
    (before,) = generations_get([ACCOUNTS])
    # Everything inside: a callback registered before the capture would not be run by it.
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        account = AccountFactory()
        ContactFactory(account=account)
        ContactFactory(account=account)
        (inside,) = generations_get([ACCOUNTS])
    (after,) = generations_get([ACCOUNTS])
    # One callback for the owner's, the account's and the two contacts' saves; the commit
    # bumps past what readers saw inside.
    assert (len(callbacks), inside != before, after != inside) == (1, True, True)


@pytest.mark.django_db
def test_a_login_does_not_bump_but_a_new_role_does(client):
    user = UserFactory(username="ann")
    (before,) = generations_get([ACCOUNTS])
    client.force_login(user)  # saves last_login only
    assert generations_get([ACCOUNTS]) == (before,)
    user.groups.add(Group.objects.get(name=roles.CS_LEADER))
    assert generations_get([ACCOUNTS]) != (before,)


@pytest.mark.django_db
def test_read_model_is_computed_once_per_call_until_a_bump(calls):
    AccountFactory(segment="SMB")
    smb = Account.objects.filter(segment="SMB")
    assert [_scores_read_model(accounts=smb, label="a") for _ in range(3)] == ["a:1"] * 3
    assert _scores_read_model(accounts=Account.objects.all(), label="a") == "a:1"
    generation_bump(SCORES)
    assert _scores_read_model(accounts=smb, label="a") == "a:1"
    # Computed: the first call, another scope (another SQL), and after the bump.
    assert len(calls) == 3


@pytest.mark.django_db
def test_read_model_key_holds_the_scope_parameters_and_caches_none(calls):
    owner = UserFactory()
    AccountFactory(owner=owner)
    mine = Account.objects.filter(owner=owner)
    others = Account.objects.filter(owner=UserFactory())
    answers = [
        _scores_read_model(accounts=mine, label="a"),
        _scores_read_model(accounts=others, label="a"),
        _scores_read_model(accounts=Account.objects.none(), label="a"),
        _scores_read_model(accounts=mine, label="none"),
        _scores_read_model(accounts=mine, label="none"),
    ]
    assert (answers, len(calls)) == (["a:1", "a:0", "a:0", None, None], 4)


@pytest.mark.django_db
def test_a_bump_for_another_generation_keeps_the_entry(calls):
    accounts = Account.objects.all()
    _scores_read_model(accounts=accounts, label="a")
    generation_bump(RISKS)
    _scores_read_model(accounts=accounts, label="a")
    assert len(calls) == 1


@pytest.mark.django_db
def test_a_task_and_a_saved_view_bump_their_own_generations():
    from front.models import SavedView
    from playbooks.models import Task
    from tests.risk.factories import RiskFactory

    risk = RiskFactory()
    before = generations_get([TASKS, SAVED_VIEWS, SCORES])
    Task.objects.create(account=risk.account, risk=risk, title="Call", due_on=date(2026, 12, 1))
    after_task = generations_get([TASKS, SAVED_VIEWS, SCORES])
    SavedView.objects.create(user=risk.account.owner, name="Mine", query="tier=watch")
    after_view = generations_get([TASKS, SAVED_VIEWS, SCORES])
    changed = [
        tuple(now != then for now, then in zip(later, earlier, strict=True))
        for earlier, later in ((before, after_task), (after_task, after_view))
    ]
    assert changed == [(True, False, False), (False, True, False)]


def test_a_request_reads_each_generation_once_and_sees_its_own_bumps():
    with generations_read_once():
        (first,) = generations_get([SCORES])
        # Another process bumps meanwhile: this request keeps reading as of its first read.
        cache.set(f"{KEY_PREFIX}{SCORES}", first + 1, timeout=60)
        assert generations_get([SCORES]) == (first,)
        generation_bump(SCORES)  # its own bump shows at once
        (bumped,) = generations_get([SCORES])
        assert bumped not in (first, first + 1)
    # Outside a request every read asks the cache.
    assert generations_get([SCORES]) == (bumped,)


@pytest.mark.django_db
def test_a_request_stores_what_it_computed_in_one_round_trip_at_its_end(calls, monkeypatch):
    stores = []
    backend = caches["default"]
    set_many = backend.set_many

    def counted(data, **kwargs):
        stores.append(set(data))
        return set_many(data, **kwargs)

    monkeypatch.setattr(backend, "set_many", counted)
    accounts = Account.objects.all()
    with request_cache_scope():
        assert _scores_read_model(accounts=accounts, label="a") == "a:0"
        assert _scores_read_model(accounts=accounts, label="b") == "b:0"
        assert _scores_read_model(accounts=accounts, label="a") == "a:0"  # seen before stored
        assert stores == []
    assert len(stores) == 1 and len(stores[0]) == 2
    # Stored: the next request computes neither again.
    with request_cache_scope():
        _scores_read_model(accounts=accounts, label="a")
        _scores_read_model(accounts=accounts, label="b")
    assert [call["label"] for call in calls] == ["a", "b"]
