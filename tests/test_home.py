import pytest

from tests.accounts.factories import AccountFactory, UserFactory


@pytest.mark.django_db
def test_home_sends_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_home_welcomes_a_user_without_a_role(client):
    user = UserFactory()
    AccountFactory(owner=UserFactory(role="CSM"))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["roles"] == []
    assert response.context["account_count"] == 0
