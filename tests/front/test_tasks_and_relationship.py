"""The account page's tasks (done / skip) and relationship forms (touchpoint, contact, role,
left), with htmx, CSRF, validation and permissions; Rescore now."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, Touchpoint
from playbooks.models import Task
from risk.models import Risk, RiskRule
from tests.accounts.factories import AccountFactory, ContactFactory, UserFactory
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def task(account):
    risk = RiskFactory(account=account)
    return Task.objects.create(
        account=account,
        risk=risk,
        title="Call the sponsor",
        due_on=timezone.localdate() - dt.timedelta(days=1),
        assignee=account.owner,
    )


def test_account_page_lists_its_tasks_with_done_and_skip(csm, task):
    html = login(csm).get(reverse("front:account-detail", args=[task.account_id])).content.decode()
    assert (
        "Call the sponsor" in html,
        'value="done"' in html,
        'value="skip"' in html,
        "overdue" in html,
    ) == (True, True, True, True)


def test_done_with_htmx_returns_tasks_and_moves_the_risk(csm, task):
    response = login(csm).post(
        reverse("front:task-finish", args=[task.pk]), {"action": "done", "note": "Called"}, **HTMX
    )
    task.refresh_from_db()
    task.risk.refresh_from_db()
    html = response.content.decode()
    assert (response.status_code, task.status, task.risk.status, "hx-swap-oob" in html) == (
        200,
        "done",
        "mitigating",
        True,
    )


def test_skip_without_a_note_shows_the_error_and_changes_nothing(csm, task):
    response = login(csm).post(
        reverse("front:task-finish", args=[task.pk]), {"action": "skip", "note": ""}, **HTMX
    )
    task.refresh_from_db()
    assert (response.status_code, "Say why the task is skipped." in response.content.decode()) == (
        200,
        True,
    )
    assert task.status == "open"


def test_another_csms_task_is_a_404(task):
    other = UserFactory(username="other", role="CSM")
    response = login(other).post(reverse("front:task-finish", args=[task.pk]), {"action": "done"})
    assert response.status_code == 404


def test_the_forms_need_csrf(csm, account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(csm)
    response = client.post(
        reverse("front:touchpoint-log", args=[account.pk]),
        {"tp-kind": "call", "tp-occurred_on": timezone.localdate().isoformat()},
    )
    assert (response.status_code, Touchpoint.objects.count()) == (403, 0)


def test_logging_a_call_with_a_sponsor_is_written_and_the_timeline_updates(csm, account):
    sponsor = ContactFactory(account=account, name="Ann Lee", role="executive_sponsor")
    response = login(csm).post(
        reverse("front:touchpoint-log", args=[account.pk]),
        {
            "tp-kind": "call",
            "tp-occurred_on": timezone.localdate().isoformat(),
            "tp-contacts": [sponsor.pk],
            "tp-summary": "Talked renewal",
        },
        **HTMX,
    )
    touchpoint = Touchpoint.objects.get()
    html = response.content.decode()
    assert (touchpoint.kind, list(touchpoint.contacts.all()), "Call with Ann Lee" in html) == (
        "call",
        [sponsor],
        True,
    )


def test_a_touchpoint_in_the_future_is_a_clear_error_and_nothing_is_written(csm, account):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = login(csm).post(
        reverse("front:touchpoint-log", args=[account.pk]),
        {"tp-kind": "note", "tp-occurred_on": tomorrow.isoformat()},
        **HTMX,
    )
    assert (
        f"A touchpoint cannot be dated in the future ({tomorrow.isoformat()})."
        in response.content.decode(),
        Touchpoint.objects.count(),
    ) == (True, 0)


def test_adding_a_contact_and_changing_a_role(csm, account):
    client = login(csm)
    client.post(
        reverse("front:contact-add", args=[account.pk]),
        {"add-name": "Bo Chen", "add-role": "champion"},
        **HTMX,
    )
    contact = Contact.objects.get(name="Bo Chen")
    client.post(
        reverse("front:contact-role", args=[account.pk]),
        {"role-contact": contact.pk, "role-role": "executive_sponsor"},
        **HTMX,
    )
    contact.refresh_from_db()
    assert (contact.role, contact.changes.count()) == ("executive_sponsor", 1)


def test_marking_the_sponsor_as_left_raises_sponsor_left_at_once(csm, account):
    RiskRule.objects.exclude(risk_type="sponsor_left").update(is_enabled=False)
    sponsor = ContactFactory(account=account, role="executive_sponsor")
    Contact.objects.filter(pk=sponsor.pk).update(created_at=timezone.now() - dt.timedelta(days=90))
    login(csm).post(
        reverse("front:contact-left", args=[account.pk]),
        {"left-contact": sponsor.pk, "left-left_on": timezone.localdate().isoformat()},
        **HTMX,
    )
    assert list(Risk.objects.values_list("risk_type", "status")) == [("sponsor_left", "open")]


def test_a_contact_left_before_being_added_is_a_clear_error(csm, account):
    contact = ContactFactory(account=account, name="Cy")
    added = timezone.localdate()
    response = login(csm).post(
        reverse("front:contact-left", args=[account.pk]),
        {"left-contact": contact.pk, "left-left_on": "2020-01-01"},
        **HTMX,
    )
    contact.refresh_from_db()
    message = (
        f"Cy was added on {added.isoformat()}: they cannot have left before that (2020-01-01)."
    )
    assert (message in response.content.decode(), contact.is_active) == (True, True)


def test_another_csm_cannot_record_on_an_account_they_do_not_own(account):
    other = UserFactory(username="other", role="CSM")
    response = login(other).post(
        reverse("front:contact-add", args=[account.pk]), {"add-name": "X", "add-role": "user"}
    )
    assert (response.status_code, Contact.objects.count()) == (404, 0)


def test_a_leader_may_record_the_relationship(account):
    leader = UserFactory(username="lead", role="CS Leader")
    login(leader).post(
        reverse("front:contact-add", args=[account.pk]), {"add-name": "Di", "add-role": "user"}
    )
    assert list(Contact.objects.values_list("name", flat=True)) == ["Di"]


def test_rescore_now_scores_the_account_for_today(csm, account):
    response = login(csm).post(reverse("front:account-rescore", args=[account.pk]))
    assert (response.status_code, account.snapshots.filter(as_of=timezone.localdate()).count()) == (
        302,
        1,
    )


def test_all_tasks_finished_offers_to_resolve(csm, task):
    login(csm).post(reverse("front:task-finish", args=[task.pk]), {"action": "done"}, **HTMX)
    html = login(csm).get(reverse("front:account-detail", args=[task.account_id])).content.decode()
    assert "All its tasks are done or skipped: resolve it?" in html


def test_a_csm_does_not_see_another_accounts_tasks(csm):
    other_account = AccountFactory()
    RiskFactory(account=other_account)
    response = login(csm).get(reverse("front:account-detail", args=[other_account.pk]))
    assert response.status_code == 404


def test_dashboard_my_tasks_card_counts_overdue_and_this_week(csm, task):
    Task.objects.create(
        account=task.account,
        risk=task.risk,
        title="Later",
        due_on=timezone.localdate() + dt.timedelta(days=20),
        assignee=csm,
    )
    html = login(csm).get(reverse("front:dashboard")).content.decode()
    assert (
        '<span class="count" id="my-tasks-count">1</span>' in html,
        "overdue since" in html,
        "Later" in html,
    ) == (True, True, False)


def test_risk_inbox_orders_by_severity_then_arr_then_renewal(csm):
    small = AccountFactory(owner=csm, name="Small", arr=10_000)
    big = AccountFactory(owner=csm, name="Big", arr=90_000)
    soon = AccountFactory(owner=csm, name="Soon", arr=10_000, renewal_date=dt.date(2027, 1, 1))
    crit = AccountFactory(owner=csm, name="Crit", arr=1_000)
    for account in (small, big, soon):
        RiskFactory(account=account, risk_type="no_sponsor", severity="medium")
    RiskFactory(account=crit, risk_type="renewal_at_risk", severity="critical")
    from accounts.selectors import accounts_visible_to
    from front.read_models.work import risk_inbox

    inbox = risk_inbox(accounts=accounts_visible_to(user=csm))
    assert ([risk.account.name for risk in inbox.risks], inbox.total) == (
        ["Crit", "Big", "Soon", "Small"],
        4,
    )


def test_portfolio_shows_open_and_overdue_tasks_by_csm(task):
    leader = UserFactory(username="lead", role="CS Leader")
    html = login(leader).get(reverse("front:portfolio")).content.decode()
    name = task.assignee.get_full_name() or task.assignee.username
    expected = f'<th scope="row">{name}</th><td class="num">1</td><td class="num">1</td>'
    assert expected in html
