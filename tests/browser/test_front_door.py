"""The front door in Chromium: the pages run under the Content-Security-Policy with no
violation (the `page` fixture fails a test on any console error, CSP reports included), and
a locked-out username is told so on the login page."""

import pytest
from playwright.sync_api import Page, expect

from tests.accounts.factories import UserFactory
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]


def test_api_docs_render_under_the_policy(page: Page):
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "Healthscore API", timeout=20_000
    )


def test_login_page_says_a_username_is_locked(browser, live_server):
    """Its own page: the lockout's 429 is logged by Chromium as a console error."""
    UserFactory(username="dana", role="CSM")
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/login/")
    for _ in range(5):
        page.fill("#id_username", "dana")
        page.fill("#id_password", "wrong-password")
        page.click("button[type=submit]")
        if page.get_by_role("link", name="Back to the login page").count():
            break
    screenshot(page, "login-locked")
    expect(page.get_by_role("alert")).to_have_text(
        "Too many wrong passwords for “dana”: this username is locked for 0:15:00. Try again "
        "later, or ask an administrator to unlock it."
    )
    context.close()
