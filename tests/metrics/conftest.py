import pytest
from rest_framework.test import APIClient

from accounts import roles
from tests.accounts.factories import AccountFactory, UserFactory


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def csm_client(csm) -> APIClient:
    return client_for(csm)


@pytest.fixture
def other_csm(db):
    return UserFactory(username="other-csm", role=roles.CSM)


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", role=roles.CS_LEADER)


@pytest.fixture
def ops(db):
    return UserFactory(username="ops", role=roles.CS_OPS)


@pytest.fixture
def integration(db):
    return UserFactory(username="integration", role=roles.INTEGRATION)


@pytest.fixture
def integration_client(integration) -> APIClient:
    return client_for(integration)


@pytest.fixture
def others_account(db, other_csm):
    return AccountFactory(owner=other_csm, external_id="OTHER-1", name="Not yours")


@pytest.fixture(autouse=True)
def throttle_budgets_reset():
    """Throttle counts live in the cache, keyed by user id; ids repeat from test to test."""
    from django.core.cache import cache

    cache.clear()
