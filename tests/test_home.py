import pytest

from tests.accounts.factories import AccountFactory, UserFactory


@pytest.mark.django_db
def test_home_sends_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_home_counts_only_a_csms_own_accounts(client, csm):
    AccountFactory.create_batch(2, owner=csm)
    AccountFactory(owner=UserFactory(role="CSM"))
    client.force_login(csm)
    response = client.get("/")
    assert response.context["account_count"] == 2


@pytest.mark.django_db
def test_home_counts_every_account_for_a_leader(client):
    AccountFactory.create_batch(3)
    client.force_login(UserFactory(role="CS Leader"))
    response = client.get("/")
    assert response.context["account_count"] == 3
