"""Every contact or touchpoint change through the API re-evaluates that account's risks at
once; bad dates are clear errors with nothing written; one account can be rescored on
request (PRODUCT.md, "Acting on risks")."""

import datetime as dt

import pytest
import time_machine

from accounts.authentication import api_key_create
from accounts.models import Contact, Touchpoint
from risk.models import Risk, RiskRule
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def only_sponsor_rules(db):
    RiskRule.objects.exclude(risk_type__in=["sponsor_left", "no_sponsor"]).update(is_enabled=False)


def open_types(account) -> list[str]:
    return sorted(
        Risk.objects.filter(account=account, status="open").values_list("risk_type", flat=True)
    )


def test_marking_the_sponsor_as_left_raises_sponsor_left_at_once(csm, account, only_sponsor_rules):
    sponsor = ContactFactory(account=account, role="executive_sponsor")
    Contact.objects.filter(pk=sponsor.pk).update(created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    response = client_for(csm).patch(
        f"/api/v1/contacts/{sponsor.pk}/", {"is_active": False, "left_on": "2026-11-19"}
    )
    assert (response.status_code, open_types(account)) == (200, ["no_sponsor", "sponsor_left"])


def test_adding_a_sponsor_clears_no_sponsor_at_once(csm, account, only_sponsor_rules):
    RiskRule.objects.filter(risk_type="no_sponsor").update(auto_resolve=True)
    client = client_for(csm)
    client.post(
        "/api/v1/touchpoints/", {"account": account.external_id, "occurred_on": "2026-11-19"}
    )
    before = open_types(account)
    client.post(
        "/api/v1/contacts/",
        {"account": account.external_id, "name": "Ann", "role": "executive_sponsor"},
    )
    assert (before, open_types(account)) == (["no_sponsor"], [])


def test_a_touchpoint_dated_in_the_future_is_refused_and_nothing_written(csm, account):
    response = client_for(csm).post(
        "/api/v1/touchpoints/", {"account": account.external_id, "occurred_on": "2026-11-21"}
    )
    assert (response.status_code, response.json()["fields"], Touchpoint.objects.count()) == (
        400,
        {"occurred_on": ["A touchpoint cannot be dated in the future (2026-11-21)."]},
        0,
    )


def test_a_contact_who_left_before_being_added_is_refused_and_nothing_written(csm, account):
    contact = ContactFactory(account=account, name="Bob", role="champion")
    response = client_for(csm).patch(
        f"/api/v1/contacts/{contact.pk}/", {"is_active": False, "left_on": "2026-11-01"}
    )
    contact.refresh_from_db()
    assert (response.status_code, response.json()["fields"], contact.is_active) == (
        400,
        {
            "left_on": [
                "Bob was added on 2026-11-20: they cannot have left before that (2026-11-01)."
            ]
        },
        True,
    )


def test_the_owner_rescores_an_account_and_gets_the_fresh_score(csm, account):
    response = client_for(csm).post(f"/api/v1/accounts/{account.external_id}/score/recompute/")
    body = response.json()
    assert (response.status_code, body["account"], body["date"]) == (
        200,
        account.external_id,
        "2026-11-20",
    )


def test_rescoring_evaluates_the_accounts_risks(csm, account, only_sponsor_rules):
    client_for(csm).post(f"/api/v1/accounts/{account.pk}/score/recompute/")
    assert open_types(account) == ["no_sponsor"]


def test_another_csm_cannot_rescore_an_account_they_do_not_own(other_csm, account):
    response = client_for(other_csm).post(f"/api/v1/accounts/{account.pk}/score/recompute/")
    assert response.status_code == 404


def test_a_key_with_write_measures_rescores_and_a_read_key_may_not(integration, account):
    _, writer = api_key_create(owner=integration, name="w", scopes=["read", "write:measures"])
    _, reader = api_key_create(owner=integration, name="r", scopes=["read"])
    codes = []
    for key in (writer, reader):
        client = client_for(None)
        client.force_authenticate(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        codes.append(client.post(f"/api/v1/accounts/{account.pk}/score/recompute/").status_code)
    assert codes == [200, 403]


def test_contacts_stay_unchanged_by_a_refused_departure(csm, account):
    contact = ContactFactory(account=account, role="executive_sponsor")
    client_for(csm).patch(
        f"/api/v1/contacts/{contact.pk}/", {"is_active": False, "left_on": "2020-01-01"}
    )
    assert Contact.objects.filter(is_active=False).count() == 0


def test_a_bulk_upsert_marking_the_sponsor_as_left_raises_sponsor_left_at_once(
    postgres, csm, account, only_sponsor_rules
):
    ContactFactory(account=account, external_id="CRM-C-1", role="executive_sponsor")
    response = client_for(csm).post(
        "/api/v1/contacts/bulk/",
        [{"external_id": "CRM-C-1", "left_on": "2026-11-19"}],
        format="json",
    )
    assert (response.status_code, response.json(), open_types(account)) == (
        200,
        {"created": 0, "updated": 1, "unchanged": 0},
        ["no_sponsor", "sponsor_left"],
    )


def test_a_bulk_upsert_evaluates_only_the_accounts_whose_contacts_changed(
    postgres, csm, only_sponsor_rules
):
    added_to, unchanged, untouched = (
        AccountFactory(owner=csm, external_id=f"CRM-{n}") for n in (1, 2, 3)
    )
    ContactFactory(account=unchanged, external_id="CRM-C-2", name="Bo", role="user")
    response = client_for(csm).post(
        "/api/v1/contacts/bulk/",
        [
            {"external_id": "CRM-C-1", "account": "CRM-1", "name": "Ann", "role": "champion"},
            {"external_id": "CRM-C-2", "name": "Bo"},  # as it is: changes nothing
        ],
        format="json",
    )
    # Every account lacks a sponsor; only the one whose contacts changed was evaluated.
    assert (response.json(), [open_types(a) for a in (added_to, unchanged, untouched)]) == (
        {"created": 1, "updated": 0, "unchanged": 1},
        [["no_sponsor"], [], []],
    )


def test_moving_a_contact_to_another_account_evaluates_both(postgres, csm, only_sponsor_rules):
    RiskRule.objects.filter(risk_type="no_sponsor").update(auto_resolve=True)
    left, joined = AccountFactory(owner=csm), AccountFactory(owner=csm)
    sponsor = ContactFactory(account=left, role="executive_sponsor")
    response = client_for(csm).patch(
        f"/api/v1/contacts/{sponsor.pk}/", {"account": joined.external_id}, format="json"
    )
    assert (response.status_code, open_types(left), open_types(joined)) == (
        200,
        ["no_sponsor"],
        [],
    )
