import datetime as dt

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, ApiKey, Contact, RenewalOutcome, Touchpoint
from tests.accounts.factories import (
    AccountFactory,
    ContactFactory,
    CsmFactory,
    RenewalOutcomeFactory,
    TouchpointFactory,
)
from tests.scorecards.test_admin import admin_post_data

ACCOUNT_MODELS = [Account, Contact, Touchpoint, RenewalOutcome]


def one_of_each_more(account: Account) -> None:
    contact = ContactFactory(account=account)
    TouchpointFactory(account=account, created_by=account.owner).contacts.add(contact)
    RenewalOutcomeFactory(account=account)


@pytest.fixture
def one_of_each(account):
    one_of_each_more(account)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:accounts_{model._meta.model_name}_{view}", args=args)


def test_admin_registers_every_account_model():
    registered = {model for model in admin.site._registry if model._meta.app_label == "accounts"}
    assert registered == {*ACCOUNT_MODELS, ApiKey}  # ApiKey: accounts/admin_api_keys.py


@pytest.mark.parametrize("model", ACCOUNT_MODELS, ids=lambda model: model.__name__)
def test_admin_changelist_renders(admin_client, one_of_each, model):
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize("model", ACCOUNT_MODELS, ids=lambda model: model.__name__)
def test_admin_add_page_renders(admin_client, model):
    assert admin_client.get(_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", ACCOUNT_MODELS, ids=lambda model: model.__name__)
def test_admin_change_page_renders(admin_client, one_of_each, model):
    obj = model.objects.get()
    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200


def _query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", ACCOUNT_MODELS, ids=lambda model: model.__name__)
def test_admin_changelist_queries_do_not_grow_with_rows(admin_client, one_of_each, model):
    url = _url(model, "changelist")
    one_row = _query_count(admin_client, url)
    for _ in range(10):
        one_of_each_more(AccountFactory())
    assert _query_count(admin_client, url) == one_row


def test_account_changelist_searches_by_external_id(admin_client, db):
    wanted = AccountFactory(external_id="CRM-42", name="Globex")
    AccountFactory(external_id="CRM-43", name="Initech")
    response = admin_client.get(_url(Account, "changelist"), {"q": "CRM-42"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_account_changelist_filters_by_owner_lists_only_owners(admin_client, db):
    owner = CsmFactory(username="alice")
    CsmFactory(username="bob")  # owns nothing
    AccountFactory(owner=owner)
    response = admin_client.get(_url(Account, "changelist"))
    owner_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.field_path == "owner"
    )
    assert [label for _, label in owner_filter.lookup_choices] == ["alice"]


def test_account_changelist_filters_by_lifecycle(admin_client, db):
    renewing = AccountFactory(lifecycle=Account.Lifecycle.RENEWING)
    AccountFactory(lifecycle=Account.Lifecycle.MATURE)
    response = admin_client.get(_url(Account, "changelist"), {"lifecycle__exact": "renewing"})
    assert list(response.context["cl"].result_list) == [renewing]


def test_contact_changelist_searches_by_account_name(admin_client, db):
    wanted = ContactFactory(account__name="Globex")
    ContactFactory(account__name="Initech")
    response = admin_client.get(_url(Contact, "changelist"), {"q": "globex"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_account_change_saves_contacts_inline(admin_client, account):
    url = _url(Account, "change", account.pk)
    data = admin_post_data(admin_client.get(url))
    data.update(
        {
            "contacts-TOTAL_FORMS": "1",
            "contacts-0-name": "Dana Scully",
            "contacts-0-email": "dana@example.com",
            "contacts-0-role": Contact.Role.EXECUTIVE_SPONSOR,
            "contacts-0-is_active": "on",
        }
    )
    assert admin_client.post(url, data).status_code == 302
    contact = account.contacts.get()
    assert (contact.name, contact.role, contact.is_active) == (
        "Dana Scully",
        "executive_sponsor",
        True,
    )


def test_touchpoint_add_records_who_entered_it(admin_client, account):
    url = _url(Touchpoint, "add")
    data = admin_post_data(admin_client.get(url))
    data.update({"account": str(account.pk), "kind": "call", "occurred_on": "2026-11-02"})
    assert admin_client.post(url, data).status_code == 302
    touchpoint = Touchpoint.objects.get()
    assert touchpoint.occurred_on == dt.date(2026, 11, 2)
    assert touchpoint.created_by.username == "admin"


def test_account_changelist_redirects_a_csm_to_the_login(client, csm):
    client.force_login(csm)
    response = client.get(_url(Account, "changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
