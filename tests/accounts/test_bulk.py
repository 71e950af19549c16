"""accounts.bulk.accounts_by_external_id: the account lookup every bulk write shares (metric and
measure values, contacts, renewal outcomes), one query however many ids are asked for."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from accounts.bulk import accounts_by_external_id
from accounts.models import Account
from tests.accounts.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_accounts_by_external_id_a_csm_finds_only_their_own(account, csm):
    AccountFactory(external_id="OTHER-1", owner=UserFactory(username="other", role=roles.CSM))
    found = accounts_by_external_id(external_ids=[account.external_id, "OTHER-1"], user=csm)
    assert found == {account.external_id: account.pk}


def test_accounts_by_external_id_without_a_user_finds_every_account(account):
    other = AccountFactory(external_id="OTHER-1")
    found = accounts_by_external_id(external_ids=[account.external_id, "OTHER-1"], user=None)
    assert found == {account.external_id: account.pk, "OTHER-1": other.pk}


def test_accounts_by_external_id_ids_with_quotes_commas_and_braces(csm):
    # The ids travel as one JSON array: none of these characters may break it.
    names = ['A,"B"', "C\\D", "{E}", "NULL", "Ünïcode 🙂", "it's"]
    accounts = [AccountFactory(external_id=name, owner=csm) for name in names]
    found = accounts_by_external_id(external_ids=names + ["missing"], user=csm)
    assert found == {account.external_id: account.pk for account in accounts}


def test_accounts_by_external_id_blanks_and_non_text_name_no_account(csm):
    # A blank is never an account reference, even if an account were stored with one.
    AccountFactory(external_id="", owner=csm)
    AccountFactory(external_id="  ", owner=csm)
    found = accounts_by_external_id(external_ids=["", "  ", None, 7, ["x"], {"y": 1}], user=csm)
    assert found == {}


def test_accounts_by_external_id_thousands_of_ids_in_one_query(csm):
    # More ids than SQLite takes as parameters of one query (999), and one query all the same.
    Account.objects.bulk_create(
        [Account(external_id=f"BULK-{n:04d}", name=f"Bulk {n}", owner=csm) for n in range(1_500)]
    )
    wanted = [f"BULK-{n:04d}" for n in range(1_500)] * 2  # each twice, as in a bulk request
    roles.user_roles(csm)  # the user's roles are read once per request, before any lookup
    with CaptureQueriesContext(connection) as queries:
        found = accounts_by_external_id(external_ids=wanted, user=csm)
    assert (len(found), len(queries)) == (1_500, 1)
    assert found["BULK-0042"] == Account.objects.get(external_id="BULK-0042").pk
