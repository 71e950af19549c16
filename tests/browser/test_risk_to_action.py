"""From risk to action, as a CSM in Chromium: record sentiment 1, see the low-sentiment risk
and its playbook's tasks, log the call as a touchpoint, complete a task, see the risk move to
mitigating, and close it with a snooze."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Contact
from risk.models import Risk
from tests.accounts.factories import AccountFactory, ContactFactory, UserFactory
from tests.browser.conftest import screenshot
from tests.front.conftest import measure_value, score_day

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def patient_expect():
    """Each step rescores or re-evaluates the account on a shared 2-core machine: allow 20 s."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def acme():
    """Dana's account with an executive sponsor, scored today: adoption 0.9, sentiment 4."""
    today = timezone.localdate()
    dana = UserFactory(username="dana", first_name="Dana", last_name="Scully", role="CSM")
    account = AccountFactory(owner=dana, name="Acme Corp", segment="Enterprise", arr=240000)
    ContactFactory(account=account, name="Ada Sponsor", role=Contact.Role.EXECUTIVE_SPONSOR)
    measure_value(account, "adoption", 0.9, 90, today)
    measure_value(account, "csm_sentiment", 4, 75, today - dt.timedelta(days=5))
    score_day(today)
    return account


def test_csm_turns_a_low_sentiment_into_tasks_works_them_and_snoozes_the_risk(page: Page, acme):
    page.goto("/login/")
    page.fill("#id_username", "dana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/accounts/{acme.pk}/")

    page.get_by_label("1 · Very poor").check()
    page.get_by_label("Comment", exact=True).fill("Sponsor unhappy with the rollout")
    page.get_by_role("button", name="Record sentiment").click()
    risk = page.locator("#risks [data-risk-type=low_sentiment]")
    expect(risk).to_contain_text("Low sentiment")
    # The low-sentiment playbook's three steps (the account's other risks have their own).
    tasks = page.locator("#tasks article.task", has_text="Low sentiment")
    expect(tasks).to_have_text(
        [
            re.compile("Call the sponsor"),
            re.compile("Agree a recovery plan"),
            re.compile("Leader review of the plan"),
        ]
    )

    page.locator("#relationship summary", has_text="Log a touchpoint").click()
    form = page.locator("#touchpoint-form")  # fetched as its summary opens
    form.get_by_label("Kind").select_option("call")
    form.get_by_label("Ada Sponsor").check()
    form.get_by_label("What was said").fill("Walked through the rollout issues")
    form.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#relationship [role=status]")).to_contain_text("Saved")
    expect(page.locator("#timeline")).to_contain_text("Call with Ada Sponsor")

    call_task = page.locator("#tasks article.task", has_text="Call the sponsor")
    call_task.get_by_placeholder("Note (required to skip)").fill("Called Ada")
    call_task.get_by_role("button", name="Done").click()
    expect(page.locator("#tasks article.task", has_text="Call the sponsor")).to_contain_text("Done")
    expect(risk).to_contain_text("Mitigating")
    screenshot(page, "risk-to-action")

    snooze = timezone.localdate() + dt.timedelta(days=14)
    risk.get_by_placeholder("Note (required to resolve or close)").fill("Recovery plan agreed")
    risk.get_by_label("Snooze until").fill(snooze.isoformat())
    risk.get_by_role("button", name="Resolve").click()
    expect(risk).to_contain_text("Resolved")
    expect(risk).to_contain_text(f"Snoozed until {snooze.isoformat()}")
    stored = Risk.objects.get(account=acme, risk_type="low_sentiment")
    assert (stored.status, stored.snoozed_until) == ("resolved", snooze)
