"""Every path that changes contacts or touchpoints in bulk (the bulk upsert, the admin)
re-evaluates the risks of exactly the accounts it touched, once, together (PRODUCT.md,
"Acting on risks"). The API's paths are in tests/api/test_relationship_reevaluates.py."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounts.ingestion import contacts_upsert
from accounts.models import Contact, Touchpoint
from risk.models import Risk, RiskRule
from risk.services import risks_evaluate
from tests.accounts.factories import AccountFactory, ContactFactory, TouchpointFactory
from tests.scorecards.test_admin import admin_post_data

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)

# What the hook below was called with, one entry per call.
NOTIFIED: list[list[int]] = []


def notified_record(*, account_ids: list[int]) -> None:
    NOTIFIED.append(account_ids)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def notified(settings) -> list[list[int]]:
    """The account ids of each ACCOUNT_CHANGED_HOOKS call, beside the real risk evaluation."""
    NOTIFIED.clear()
    settings.ACCOUNT_CHANGED_HOOKS = [
        *settings.ACCOUNT_CHANGED_HOOKS,
        f"{__name__}.notified_record",
    ]
    return NOTIFIED


@pytest.fixture
def only_sponsor_rules(db):
    RiskRule.objects.exclude(risk_type__in=["sponsor_left", "no_sponsor"]).update(is_enabled=False)
    RiskRule.objects.filter(risk_type="no_sponsor").update(auto_resolve=True)


def open_types(account) -> list[str]:
    return sorted(
        Risk.objects.filter(account=account, status="open").values_list("risk_type", flat=True)
    )


def test_contacts_upsert_notifies_the_changed_accounts_once_together(notified):
    first, second, untouched = (AccountFactory(external_id=f"CRM-{n}") for n in (1, 2, 3))
    ContactFactory(account=second, external_id="C-2", name="Bo", title="CTO")
    ContactFactory(account=untouched, external_id="C-3", name="Cy")
    contacts_upsert(
        rows=[
            {"external_id": "C-1a", "account": "CRM-1", "name": "Ann"},
            {"external_id": "C-1b", "account": "CRM-1", "name": "Al"},
            {"external_id": "C-2", "title": "CEO"},
            {"external_id": "C-3", "name": "Cy"},  # as it is
        ],
        user=None,
    )
    assert notified == [sorted([first.pk, second.pk])]


def test_contacts_upsert_that_changes_nothing_notifies_no_account(notified):
    ContactFactory(account=AccountFactory(), external_id="C-1", name="Ann")
    result = contacts_upsert(rows=[{"external_id": "C-1", "name": "Ann"}], user=None)
    assert (result.unchanged, notified) == (1, [])


def test_contacts_upsert_moving_a_contact_notifies_both_accounts(notified):
    left, joined = AccountFactory(external_id="CRM-1"), AccountFactory(external_id="CRM-2")
    ContactFactory(account=left, external_id="C-1")
    contacts_upsert(rows=[{"external_id": "C-1", "account": "CRM-2"}], user=None)
    assert notified == [sorted([left.pk, joined.pk])]


def test_contacts_upsert_raises_and_clears_risks_of_the_touched_accounts_only(
    postgres, only_sponsor_rules
):
    gains_a_user, gains_a_sponsor, untouched = (
        AccountFactory(external_id=f"CRM-{n}") for n in (1, 2, 3)
    )
    risks_evaluate(as_of=TODAY, account_ids=[gains_a_sponsor.pk, untouched.pk])
    # A sponsor added behind the product's back: no path re-evaluates `untouched`.
    ContactFactory(account=untouched, role="executive_sponsor")
    contacts_upsert(
        rows=[
            {"external_id": "C-1", "account": "CRM-1", "name": "Ann", "role": "user"},
            {"external_id": "C-2", "account": "CRM-2", "name": "Bo", "role": "executive_sponsor"},
        ],
        user=None,
    )
    assert [open_types(a) for a in (gains_a_user, gains_a_sponsor, untouched)] == [
        ["no_sponsor"],
        [],
        ["no_sponsor"],
    ]


def test_admin_marking_a_sponsor_as_left_raises_sponsor_left_once_committed(
    postgres, admin_client, only_sponsor_rules, django_capture_on_commit_callbacks
):
    sponsor = ContactFactory(role="executive_sponsor")
    url = reverse("admin:accounts_contact_change", args=[sponsor.pk])
    data = admin_post_data(admin_client.get(url))
    data.pop("is_active")  # an unticked box sends nothing
    data["left_on"] = "2026-11-19"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert (response.status_code, open_types(sponsor.account)) == (
        302,
        ["no_sponsor", "sponsor_left"],
    )


def test_admin_saving_a_contact_unchanged_notifies_no_account(
    admin_client, notified, django_capture_on_commit_callbacks
):
    contact = ContactFactory()
    url = reverse("admin:accounts_contact_change", args=[contact.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, admin_post_data(admin_client.get(url)))
    assert notified == []


def test_admin_changing_a_contact_inline_notifies_its_account(
    admin_client, notified, django_capture_on_commit_callbacks
):
    contact = ContactFactory(title="CTO")
    url = reverse("admin:accounts_account_change", args=[contact.account_id])
    data = admin_post_data(admin_client.get(url))
    data["contacts-0-title"] = "CEO"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert (response.status_code, Contact.objects.get().title, notified) == (
        302,
        "CEO",
        [[contact.account_id]],
    )


def test_admin_deleting_touchpoints_notifies_their_accounts_once(
    admin_client, notified, django_capture_on_commit_callbacks
):
    first, second, untouched = AccountFactory(), AccountFactory(), AccountFactory()
    deleted = [TouchpointFactory(account=a) for a in (first, first, second)]
    TouchpointFactory(account=untouched)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:accounts_touchpoint_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [t.pk for t in deleted],
                "post": "yes",
            },
        )
    assert (Touchpoint.objects.count(), notified) == (1, [sorted([first.pk, second.pk])])
