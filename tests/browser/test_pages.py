"""The CSM's and the leader's mornings, driven through Chromium against the live app."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Contact
from tests.accounts.factories import AccountFactory, ContactFactory, TouchpointFactory, UserFactory
from tests.browser.conftest import screenshot
from tests.front.conftest import measure_value, score_day

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def empty_cache():
    """The portfolio caches its trend per finished run; ids repeat from test to test."""
    cache.clear()


@pytest.fixture
def book():
    """Dana's book of four accounts, scored 35, 14 and 7 days ago and today, and one account of
    another CSM. Acme: adoption 0.9 (90) and sentiment 4 (75) → (50·90 + 30·75) / 80 = 84.38,
    Green; a sentiment of 1 (0) makes it 4500 / 80 = 56.25, Yellow."""
    today = timezone.localdate()
    days = [today - dt.timedelta(days=n) for n in (35, 14, 7, 0)]
    dana = UserFactory(username="dana", first_name="Dana", last_name="Scully", role="CSM")
    UserFactory(username="lee", first_name="Lee", role="CS Leader")
    acme = AccountFactory(owner=dana, name="Acme Corp", segment="Enterprise", arr=240000)
    sponsor = ContactFactory(account=acme, name="Ada Sponsor", role=Contact.Role.EXECUTIVE_SPONSOR)
    TouchpointFactory(account=acme, occurred_on=today - dt.timedelta(days=9)).contacts.add(sponsor)
    others = {
        "Birch Labs": ("Mid-Market", (0.75, 0.7, 0.62, 0.55)),
        "Cobalt Inc": ("Enterprise", (0.25, 0.3, 0.35, 0.4)),
        "Dune Co": ("SMB", (0.3, 0.2, 0.15, 0.1)),
    }
    for day, adoption in zip(days, (0.7, 0.8, 0.85, 0.9), strict=True):
        measure_value(acme, "adoption", adoption, adoption * 100, day)
    measure_value(acme, "csm_sentiment", 4, 75, days[0], comment="Strong exec relationship")
    renewing_in = {"Birch Labs": 45, "Dune Co": 20}
    for name, (segment, adoptions) in others.items():
        renewal_date = today + dt.timedelta(days=renewing_in.get(name, 400))
        account = AccountFactory(owner=dana, name=name, segment=segment, renewal_date=renewal_date)
        for day, adoption in zip(days, adoptions, strict=True):
            measure_value(account, "adoption", adoption, adoption * 100, day)
    theirs = AccountFactory(name="Not Dana's", owner=UserFactory(username="mulder", role="CSM"))
    for day in days:
        score_day(day)
    return {"acme": acme, "theirs": theirs}


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def account_names(page: Page):
    return page.locator("table.accounts tbody th[scope=row] a")


def test_csm_works_the_dashboard_and_records_a_low_sentiment(page: Page, book):
    log_in(page, "dana")
    expect(page).to_have_url("/dashboard/")
    # Worst score first by default.
    expect(account_names(page)).to_have_text(["Dune Co", "Cobalt Inc", "Birch Labs", "Acme Corp"])
    expect(page.locator(".band-counts")).to_contain_text("Healthy")
    expect(page.locator(".summary")).to_contain_text("Renewing in 90 days, not healthy 2")
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Account", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(account_names(page)).to_have_text(["Acme Corp", "Birch Labs", "Cobalt Inc", "Dune Co"])
    page.get_by_label("Red", exact=True).check()
    expect(account_names(page)).to_have_text(["Cobalt Inc", "Dune Co"])
    page.get_by_label("Red", exact=True).uncheck()
    # (Every factory account's CRM id starts with ACME-, so search a name that no id has.)
    page.get_by_label("Search", exact=True).fill("corp")
    expect(account_names(page)).to_have_text(["Acme Corp"])
    expect(page).to_have_url(re.compile(r"q=corp"))

    account_names(page).first.click()
    expect(page.locator("h1")).to_have_text("Acme Corp")
    expect(page.get_by_test_id("overall")).to_have_text("84.38")
    expect(page.get_by_test_id("band")).to_have_text("Green")
    breakdown = page.locator("table.breakdown")
    expect(breakdown.locator("tr", has_text="Adoption")).to_contain_text("56.25")
    expect(breakdown).to_contain_text("Strong exec relationship")
    # Sentiment: 30/80 · (100 − 75) = 9.38 beats adoption: 50/80 · (100 − 90) = 6.25
    expect(page.get_by_test_id("lever")).to_contain_text("raising CSM sentiment (now 75)")
    expect(page.locator("#contacts")).to_contain_text("9 days since the last touchpoint")
    expect(page.locator("canvas[data-chart=score-history]")).to_be_visible()

    page.get_by_label("1 · Very poor").check()
    page.get_by_role("button", name="Record sentiment").click()
    expect(page.locator("#sentiment .error")).to_have_text("Say why when the sentiment is 1 or 2.")
    page.get_by_label("Comment", exact=True).fill("Sponsor went quiet; budget review next month")
    page.get_by_role("button", name="Record sentiment").click()
    expect(page.locator("#sentiment [role=status]")).to_contain_text(
        "Sentiment recorded", timeout=30_000
    )
    expect(page.get_by_test_id("overall")).to_have_text("56.25")
    expect(page.get_by_test_id("band")).to_have_text("Yellow")
    expect(page.locator("#risks [data-risk-type=low_sentiment]")).to_contain_text("Low sentiment")
    expect(page.locator("#timeline")).to_contain_text("Sponsor went quiet")
    screenshot(page, "account")

    risk = page.locator("#risks [data-risk-type=low_sentiment]")
    risk.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#risks [data-risk-type=low_sentiment]")).to_contain_text("Acknowledged")


def test_leader_opens_the_portfolio_and_drills_into_a_segment(page: Page, book):
    log_in(page, "lee")
    expect(page).to_have_url("/portfolio/")
    expect(page.get_by_test_id("total-accounts")).to_have_text("5")
    expect(page.locator("canvas[data-chart=portfolio-trend]")).to_be_visible()
    screenshot(page, "portfolio")
    page.get_by_role("region", name="By Segment").get_by_role("link", name="Enterprise").click()
    expect(page).to_have_url(re.compile(r"/dashboard/\?segment=Enterprise"))
    expect(page.get_by_label("Segment", exact=True)).to_have_value("Enterprise")
    expect(account_names(page)).to_have_text(["Cobalt Inc", "Acme Corp"])


def test_csm_gets_404_for_an_account_that_is_not_theirs(page: Page, book):
    log_in(page, "dana")
    expect(page).to_have_url("/dashboard/")
    # Through the browser's own session, without navigating: Chromium logs a console error
    # for any 404 document, and the page fixture fails on console errors.
    response = page.context.request.get(f"/accounts/{book['theirs'].pk}/")
    assert response.status == 404
    assert "Not found" in response.text()
    assert "Not Dana" not in response.text()
    own = page.context.request.get(f"/accounts/{book['acme'].pk}/")
    assert own.status == 200
