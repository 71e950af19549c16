"""The top bar's search (within what the user may see), the favicon and the admin's name."""

import pytest

from tests.accounts.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_books(csm, other_csm):
    mine = AccountFactory(owner=csm, name="Globex", external_id="CRM-100")
    theirs = AccountFactory(owner=other_csm, name="Globex Europe", external_id="CRM-200")
    ContactFactory(account=mine, name="Hank Scorpio", email="hank@globex.example")
    ContactFactory(account=theirs, name="Hank Hill", email="hank@strickland.example")
    return mine, theirs


def found(client, query):
    context = client.get("/search/", {"q": query}).context
    return [a.name for a in context["accounts"]], [c.name for c in context["contacts"]]


def test_search_csm_finds_only_their_own_accounts_and_contacts(client, csm, two_books):
    client.force_login(csm)
    assert found(client, "globex") == (["Globex"], ["Hank Scorpio"])
    assert found(client, "hank") == ([], ["Hank Scorpio"])
    assert found(client, "CRM-200") == ([], [])
    assert found(client, "strickland") == ([], [])


def test_search_leader_finds_every_account_by_name_or_crm_id(client, leader, two_books):
    client.force_login(leader)
    assert found(client, "globex") == (["Globex", "Globex Europe"], ["Hank Scorpio"])
    assert found(client, "crm-2") == (["Globex Europe"], [])
    assert found(client, "hank") == ([], ["Hank Hill", "Hank Scorpio"])


def test_search_needs_two_characters(client, leader, two_books):
    client.force_login(leader)
    assert found(client, "g") == ([], [])


def test_favicon_ico_points_at_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/favicon.svg")


def test_admin_is_branded(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "<title>Scorecards, rules and schedules | Healthscore administration</title>" in html
    assert "Healthscore administration</a>" in html
