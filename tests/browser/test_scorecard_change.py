"""CS Ops change a scorecard safely, through Chromium: a weight and a band's tier edited in a
draft, its preview, publish, the rescore followed to its end, and a rollback."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from demo.services import DEMO_PASSWORD
from scorecards.models import Scorecard
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]


@pytest.fixture
def demo_scorecard() -> Scorecard:
    call_command("seed_demo", accounts=40, seed=3, no_progress=True, stdout=io.StringIO())
    return Scorecard.objects.get(is_default=True)


def test_cs_ops_edit_a_weight_preview_publish_and_roll_back(page: Page, demo_scorecard):
    # The demo's seed made versions of its own (its usage-derived measures): start from there.
    before = demo_scorecard.version
    page.goto("/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/portfolio/")
    page.goto(f"/scorecards/{demo_scorecard.pk}/versions/")
    page.get_by_test_id("new-draft").click()
    expect(page).to_have_url(re.compile(r"/scorecards/drafts/\d+/$"))

    page.get_by_test_id("weight-group:0").fill("10")
    page.get_by_test_id("tier-band:1:tier").select_option("at_risk")
    page.get_by_test_id("save-draft").click()
    expect(page.get_by_test_id("weight-group:0")).to_have_value("10")
    expect(page.get_by_test_id("tier-band:1:tier")).to_have_value("at_risk")
    expect(page.get_by_test_id("band-matrix")).to_be_visible()
    expect(page.get_by_test_id("backtest-compare")).to_contain_text("Published")
    screenshot(page, "scorecard-draft")

    page.get_by_label("Publish note").fill("Less weight on outcomes")
    page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/scorecards/runs/\d+/$"))
    expect(page.get_by_test_id("publish-run-finished")).to_be_visible(timeout=30_000)
    expect(page.locator(".messages")).to_contain_text(f"Published as version {before + 1}")

    page.goto(f"/scorecards/{demo_scorecard.pk}/versions/")
    expect(page.get_by_test_id(f"version-{before + 1}")).to_contain_text("Less weight on outcomes")
    page.get_by_label(f"Why roll back to v{before}?").fill("Too soon")
    page.get_by_test_id(f"rollback-{before}").click()
    expect(page).to_have_url(re.compile(r"/scorecards/runs/\d+/$"))
    expect(page.get_by_test_id("publish-run-finished")).to_be_visible(timeout=30_000)
    demo_scorecard.refresh_from_db()
    assert demo_scorecard.version == before + 2
    assert demo_scorecard.groups.get(position=0).weight == 50
