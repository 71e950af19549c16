import pytest
from django.urls import reverse

from tests.accounts.factories import AccountFactory, UserFactory
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("front:dashboard", False),
    ("front:account-detail", True),
    ("front:portfolio", False),
    ("front:portfolio-csv", False),
]


@pytest.mark.parametrize(("name", "needs_account"), PAGES)
def test_pages_send_anonymous_users_to_login(client, account, name, needs_account):
    url = reverse(name, kwargs={"pk": account.pk} if needs_account else None)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_sentiment_post_sends_anonymous_users_to_login(client, account):
    url = reverse("front:account-sentiment", kwargs={"pk": account.pk})
    response = client.post(url, {"score": 4})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_account_page_of_another_csm_is_404(client, csm, other_csm):
    theirs = AccountFactory(owner=other_csm)
    client.force_login(csm)
    response = client.get(reverse("front:account-detail", kwargs={"pk": theirs.pk}))
    assert response.status_code == 404


def test_account_page_of_a_missing_account_is_404(client, csm):
    client.force_login(csm)
    assert client.get(reverse("front:account-detail", kwargs={"pk": 999999})).status_code == 404


def test_sentiment_on_another_csms_account_is_404(client, csm, other_csm):
    theirs = AccountFactory(owner=other_csm)
    client.force_login(csm)
    url = reverse("front:account-sentiment", kwargs={"pk": theirs.pk})
    assert client.post(url, {"score": 1, "comment": "x"}).status_code == 404


def test_sentiment_by_a_leader_is_403(client, account, leader):
    client.force_login(leader)
    url = reverse("front:account-sentiment", kwargs={"pk": account.pk})
    assert client.post(url, {"score": 4}).status_code == 403


def test_risk_action_on_another_csms_account_is_404(client, csm, other_csm):
    risk = RiskFactory(account=AccountFactory(owner=other_csm))
    client.force_login(csm)
    url = reverse("front:risk-transition", kwargs={"pk": risk.pk})
    assert client.post(url, {"to_status": "acknowledged"}).status_code == 404


def test_risk_action_by_an_integration_user_is_403(client, account):
    risk = RiskFactory(account=account)
    client.force_login(UserFactory(role="Integration"))
    url = reverse("front:risk-transition", kwargs={"pk": risk.pk})
    assert client.post(url, {"to_status": "acknowledged"}).status_code == 403


@pytest.mark.parametrize("name", ["front:portfolio", "front:portfolio-csv"])
def test_portfolio_is_403_for_a_csm(client, csm, name):
    client.force_login(csm)
    assert client.get(reverse(name)).status_code == 403


def test_leader_sees_any_account_page(client, account, leader):
    client.force_login(leader)
    response = client.get(reverse("front:account-detail", kwargs={"pk": account.pk}))
    assert response.status_code == 200
    assert response.context["may_record_sentiment"] is False


def test_dashboard_lists_only_a_csms_own_accounts(client, csm, other_csm):
    mine = AccountFactory(owner=csm, name="Mine")
    AccountFactory(owner=other_csm, name="Theirs")
    client.force_login(csm)
    response = client.get(reverse("front:dashboard"))
    assert [row.pk for row in response.context["table"].rows] == [mine.pk]


@pytest.mark.parametrize(
    ("role", "landing"),
    [("CSM", "/dashboard/"), ("CS Leader", "/portfolio/"), ("CS Ops", "/portfolio/")],
)
def test_home_sends_each_role_to_its_page(client, role, landing):
    client.force_login(UserFactory(role=role))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == landing
