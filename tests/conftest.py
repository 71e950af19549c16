import importlib
import os
import shutil

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from tests.accounts.factories import AccountFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_missing(message: str) -> None:
    """In CI a missing service fails the test (it must never pass by skipping); on a
    developer's machine without services it skips with the reason."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# scripts/test runs the suite on two xdist workers with `--dist loadgroup`. The tests that drive
# Celery workers, Redis or a health ping share one worker, one after another: a broadcast ping
# would see another test's worker and a Redis-backed cache another test's keys. The browser
# tests share the other, so that two Chromiums never compete for the two cores; everything else
# is spread over both.
SHARED_SERVICES = {"celery_worker_process", "redis_url", "own_redis"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if SHARED_SERVICES.intersection(item.fixturenames) or "tests/integration/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("services"))
        elif "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    """PBKDF2 is slow by design; tests need no protection from brute force."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def private_cache(settings) -> None:
    """Each test gets an empty in-process cache, so throttle counts never leak between tests
    through a shared Redis."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def tasks_run_inline(request) -> None:
    """Tasks run inline in the test process unless a test drives a real worker
    (the `celery_worker_process` fixture), even when REDIS_URL is set."""
    from healthscore.celery import app

    if "celery_worker_process" in request.fixturenames:
        return
    app.conf.task_always_eager = True


@pytest.fixture
def postgres(db) -> None:
    """For tests whose behaviour depends on PostgreSQL itself."""
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def postgres_transactional(migrated_data) -> None:
    """For tests that need PostgreSQL and commits other connections can see (threads, two
    workers at once)."""
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def redis_url() -> str:
    if not settings.REDIS_URL:
        service_missing("needs Redis: set REDIS_URL=redis://…")
    return settings.REDIS_URL


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        service_missing("needs Debian's chromium (apt-get install chromium)")
    return path


@pytest.fixture
def csm(db):
    return UserFactory(username="csm", role="CSM")


@pytest.fixture
def account(db, csm):
    return AccountFactory(owner=csm)


# The data that migrations create; a transactional test's flush wipes it, so such tests
# restore it through this fixture.
MIGRATION_DATA = [
    ("accounts.migrations.0002_roles", "create_roles"),
    ("metrics.migrations.0002_roles_and_partition_schedule", "grant"),
    ("scorecards.migrations.0002_default_scorecard", "create_default_scorecard"),
    ("scorecards.migrations.0011_band_tier", "band_tiers_default"),
    ("risk.migrations.0002_default_risk_rules", "create_rules"),
    ("scorecards.migrations.0004_nightly_schedule", "create_schedule"),
    ("risk.migrations.0004_nightly_schedule_computes_sponsor_measures", "point_at_risk_nightly"),
    ("events.migrations.0002_cs_ops_permissions_and_sweep", "create_data"),
    ("playbooks.migrations.0002_default_playbooks", "create_all"),
]


@pytest.fixture
def migrated_data(transactional_db) -> None:
    """A transactional database holding what the data migrations create."""
    from django.contrib.auth.models import Group

    if Group.objects.exists():
        return
    for module_name, function_name in MIGRATION_DATA:
        getattr(importlib.import_module(module_name), function_name)(apps, None)
