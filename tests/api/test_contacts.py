"""PATCH /api/v1/contacts/<id>/: a departure and a return."""

import datetime as dt

from tests.accounts.factories import ContactFactory


def test_contact_back_at_the_company_with_is_active_alone(csm_client, account):
    contact = ContactFactory(account=account, is_active=False, left_on=dt.date(2026, 11, 2))
    response = csm_client.patch(
        f"/api/v1/contacts/{contact.pk}/", {"is_active": True}, format="json"
    )
    assert (response.status_code, response.json()["is_active"], response.json()["left_on"]) == (
        200,
        True,
        None,
    )


def test_contact_active_with_a_left_on_date_is_400(csm_client, account):
    contact = ContactFactory(account=account)
    response = csm_client.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"is_active": True, "left_on": "2026-11-02"},
        format="json",
    )
    assert (response.status_code, response.json()["fields"]) == (
        400,
        {"left_on": ["An active contact has no left_on."]},
    )
