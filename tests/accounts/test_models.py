import datetime as dt

import pytest
from django.db import IntegrityError

from accounts.models import Contact
from tests.accounts.factories import AccountFactory, ContactFactory, RenewalOutcomeFactory


@pytest.mark.django_db
def test_account_duplicate_external_id_is_rejected():
    AccountFactory(external_id="CRM-1")
    with pytest.raises(IntegrityError):
        AccountFactory(external_id="CRM-1")


@pytest.mark.django_db
def test_contact_left_without_date_is_rejected():
    with pytest.raises(IntegrityError):
        ContactFactory(is_active=False, left_on=None)


@pytest.mark.django_db
def test_contact_left_with_date_is_kept():
    contact = ContactFactory(
        role=Contact.Role.EXECUTIVE_SPONSOR, is_active=False, left_on=dt.date(2026, 10, 1)
    )
    assert Contact.objects.get(pk=contact.pk).left_on == dt.date(2026, 10, 1)


@pytest.mark.django_db
def test_contact_blank_external_ids_may_repeat():
    ContactFactory(external_id="")
    ContactFactory(external_id="")
    assert Contact.objects.filter(external_id="").count() == 2


@pytest.mark.django_db
def test_renewal_outcome_second_for_same_account_and_date_is_rejected():
    outcome = RenewalOutcomeFactory()
    with pytest.raises(IntegrityError):
        RenewalOutcomeFactory(account=outcome.account, renewal_date=outcome.renewal_date)
