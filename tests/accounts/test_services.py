"""Contact and touchpoint writes that record sponsor moves."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import Contact, ContactChange
from accounts.services import (
    contact_change_role,
    contact_departures_record,
    contact_mark_left,
    touchpoint_create,
)
from tests.accounts.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

LEFT_ON = dt.date(2026, 11, 18)


def change_row(change: ContactChange) -> tuple:
    return (
        change.kind,
        change.from_role,
        change.to_role,
        change.changed_on,
        change.is_sponsor_loss,
        change.changed_by,
    )


def test_contact_mark_left_marks_the_contact(account, csm):
    contact = ContactFactory(account=account)
    contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    contact.refresh_from_db()
    assert (contact.is_active, contact.left_on) == (False, LEFT_ON)


def test_contact_mark_left_records_a_sponsor_loss(account, csm):
    contact = ContactFactory(account=account, role="executive_sponsor")
    change = contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    assert change_row(change) == (
        "left",
        "executive_sponsor",
        "executive_sponsor",
        LEFT_ON,
        True,
        csm,
    )


def test_contact_mark_left_a_user_is_no_sponsor_loss(account, csm):
    change = contact_mark_left(contact=ContactFactory(account=account), left_on=LEFT_ON, user=csm)
    assert change.is_sponsor_loss is False


def test_contact_mark_left_twice_records_one_move(account, csm):
    contact = ContactFactory(account=account, role="decision_maker")
    first = contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    second = contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    assert (second, contact.changes.count()) == (first, 1)


def test_contact_mark_left_again_after_coming_back_that_day_records_one_move(account, csm):
    contact = ContactFactory(account=account, role="decision_maker")
    first = contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    Contact.objects.filter(pk=contact.pk).update(is_active=True, left_on=None)  # back
    second = contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    contact.refresh_from_db()
    assert (second, contact.changes.count(), contact.is_active) == (first, 1, False)


def test_contact_mark_left_on_another_date_is_refused(account, csm):
    contact = ContactFactory(account=account)
    contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    with pytest.raises(ValidationError) as refused:
        contact_mark_left(contact=contact, left_on=dt.date(2026, 11, 19), user=csm)
    assert refused.value.message_dict == {
        "left_on": [f"{contact.name} already left on 2026-11-18."]
    }


def test_contact_change_role_records_the_move(account, csm):
    contact = ContactFactory(account=account, role="executive_sponsor")
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        change = contact_change_role(contact=contact, role="champion", user=csm)
    contact.refresh_from_db()
    assert (contact.role, change_row(change)) == (
        "champion",
        ("role_changed", "executive_sponsor", "champion", dt.date(2026, 11, 20), True, csm),
    )


@pytest.mark.parametrize(
    ("from_role", "to_role", "is_loss"),
    [
        ("executive_sponsor", "champion", True),
        ("decision_maker", "user", True),
        ("executive_sponsor", "decision_maker", False),
        ("champion", "executive_sponsor", False),
        ("admin", "user", False),
    ],
)
def test_contact_change_role_sponsor_loss(account, csm, from_role, to_role, is_loss):
    contact = ContactFactory(account=account, role=from_role)
    assert contact_change_role(contact=contact, role=to_role, user=csm).is_sponsor_loss is is_loss


def test_contact_change_role_of_a_contact_who_left_is_no_sponsor_loss(account, csm):
    contact = ContactFactory(account=account, role="executive_sponsor")
    contact_mark_left(contact=contact, left_on=LEFT_ON, user=csm)
    change = contact_change_role(contact=contact, role="user", user=csm)
    assert change.is_sponsor_loss is False


def test_contact_change_role_to_the_same_role_records_nothing(account, csm):
    contact = ContactFactory(account=account, role="champion")
    assert (
        contact_change_role(contact=contact, role="champion", user=csm),
        contact.changes.count(),
    ) == (
        None,
        0,
    )


def test_contact_change_role_refuses_an_unknown_role(account, csm):
    with pytest.raises(ValidationError) as refused:
        contact_change_role(contact=ContactFactory(account=account), role="ceo", user=csm)
    assert refused.value.message_dict == {"role": ["Unknown role 'ceo'."]}


def test_contact_departures_record_finds_departures_entered_directly(account):
    contact = ContactFactory(
        account=account, role="executive_sponsor", is_active=False, left_on=LEFT_ON
    )
    assert contact_departures_record(as_of=LEFT_ON) == 1
    assert [change_row(change) for change in contact.changes.all()] == [
        ("left", "executive_sponsor", "executive_sponsor", LEFT_ON, True, None)
    ]


def test_contact_departures_record_twice_records_once(account):
    ContactFactory(account=account, is_active=False, left_on=LEFT_ON)
    counts = [contact_departures_record(as_of=LEFT_ON), contact_departures_record(as_of=LEFT_ON)]
    assert (counts, ContactChange.objects.count()) == ([1, 0], 1)


def test_contact_departures_record_skips_departures_after_the_day(account):
    ContactFactory(account=account, is_active=False, left_on=LEFT_ON)
    assert contact_departures_record(as_of=LEFT_ON - dt.timedelta(days=1)) == 0


def test_touchpoint_create_links_the_contacts(account, csm):
    sponsor = ContactFactory(account=account, role="executive_sponsor")
    touchpoint = touchpoint_create(
        account=account, occurred_on=LEFT_ON, contacts=[sponsor], kind="call", user=csm
    )
    assert (list(touchpoint.contacts.all()), touchpoint.kind, touchpoint.created_by) == (
        [sponsor],
        "call",
        csm,
    )


def test_touchpoint_create_refuses_another_accounts_contact(account):
    stranger = ContactFactory(account=AccountFactory(), name="Sam Elsewhere")
    with pytest.raises(ValidationError) as refused:
        touchpoint_create(account=account, occurred_on=LEFT_ON, contacts=[stranger])
    assert refused.value.message_dict == {
        "contacts": [f"Not contacts of {account.name}: Sam Elsewhere."]
    }
    assert Contact.objects.get(pk=stranger.pk).touchpoints.count() == 0
