import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import roles
from accounts.models import Account, Contact, RenewalOutcome, Touchpoint


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """UserFactory(role="CSM") puts the user in that role's group."""
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class CsmFactory(UserFactory):
    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=extracted or roles.CSM))


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"ACME-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    segment = "Mid-Market"
    tier = "Gold"
    region = "EMEA"
    industry = "Software"
    lifecycle = Account.Lifecycle.MATURE
    arr = Decimal("50000.00")
    renewal_date = dt.date(2027, 6, 30)
    owner = factory.SubFactory(CsmFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.com")
    role = Contact.Role.USER


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    account = factory.SubFactory(AccountFactory)
    occurred_on = dt.date(2026, 11, 1)


class RenewalOutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RenewalOutcome

    account = factory.SubFactory(AccountFactory)
    renewal_date = dt.date(2026, 6, 30)
    outcome = RenewalOutcome.Outcome.RENEWED
    arr_before = Decimal("50000.00")
    arr_after = Decimal("50000.00")
