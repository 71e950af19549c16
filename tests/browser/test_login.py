import pytest
from playwright.sync_api import Page, expect

from tests.accounts.factories import AccountFactory, UserFactory
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]


def test_login_page_lets_a_csm_in(page: Page):
    csm = UserFactory(username="dana", first_name="Dana", role="CSM")
    AccountFactory.create_batch(3, owner=csm)
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")
    screenshot(page, "login")
    page.fill("#id_username", "dana")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page).to_have_url("/dashboard/")
    expect(page.locator("h1")).to_have_text("My accounts")
    expect(page.locator("table.accounts tbody tr")).to_have_count(3)


def test_login_page_refuses_a_wrong_password(page: Page):
    UserFactory(username="dana", role="CSM")
    page.goto("/login/")
    page.fill("#id_username", "dana")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
