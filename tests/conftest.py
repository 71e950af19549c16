import pytest

from tests.accounts.factories import AccountFactory, UserFactory


@pytest.fixture
def csm(db):
    return UserFactory(username="csm", role="CSM")


@pytest.fixture
def account(db, csm):
    return AccountFactory(owner=csm)
