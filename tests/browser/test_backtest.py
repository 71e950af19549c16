"""CS Ops learn from renewals: the backtest page of the seeded demo portfolio, its suggestion
opened as a draft, the draft's impact preview, and publishing it — through Chromium."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from demo.services import DEMO_PASSWORD
from scorecards.learning import backtest
from scorecards.models import Scorecard
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]


@pytest.fixture
def demo_scorecard() -> Scorecard:
    """200 demo accounts with 180 days of history: 56 renewal outcomes, 11 churned — enough
    for a suggestion (seed 1)."""
    call_command("seed_demo", accounts=200, seed=1, no_progress=True, stdout=io.StringIO())
    return Scorecard.objects.get(is_default=True)


def test_cs_ops_opens_the_suggestion_as_a_draft_and_publishes_it(page: Page, demo_scorecard):
    auc = backtest.scorecard_backtest(scorecard=demo_scorecard)["auc"]
    page.goto("/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url("/portfolio/")  # CS Ops land on the portfolio
    page.get_by_role("link", name=demo_scorecard.name).click()
    expect(page).to_have_url(f"/scorecards/{demo_scorecard.pk}/backtest/")
    expect(page.get_by_test_id("auc")).to_have_text(str(auc))
    expect(page.get_by_test_id("suggestion")).to_contain_text("Held-out AUC")
    expect(page.get_by_test_id("auc-holdout-interval")).to_contain_text("95 % interval")
    expect(page.locator("canvas[data-chart=band-churn]")).to_be_visible()
    # 17 held-out outcomes cannot show that the suggestion beats the current weights: the
    # page says why and offers no draft (issue 18).
    expect(page.get_by_test_id("suggestion-withheld")).to_contain_text("not reliably better")
    expect(page.get_by_role("button", name="Open as draft")).to_have_count(0)
    screenshot(page, "backtest")

    # The draft pages stay reachable for CS Ops who open the suggestion anyway.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    opened = page.context.request.post(
        f"/scorecards/{demo_scorecard.pk}/drafts/",
        form={"horizon": "90"},
        headers={"X-CSRFToken": csrf, "Referer": page.url},
    )
    page.goto(opened.url)
    expect(page).to_have_url(re.compile(r"/scorecards/drafts/\d+/$"))
    expect(page.get_by_role("heading", name="Band to band (accounts, ARR)")).to_be_visible()
    expect(page.get_by_test_id("band-matrix")).to_contain_text("Not scored")
    expect(page.get_by_test_id("backtest-compare")).to_contain_text("AUC, the 17 held out")
    screenshot(page, "draft-preview")

    # The demo's seed made versions of its own (its usage-derived measures): one more.
    demo_scorecard.refresh_from_db()
    published = demo_scorecard.version + 1
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(r"/scorecards/runs/\d+/$"))  # the rescore's progress
    expect(page.locator(".messages")).to_contain_text(f"Published as version {published}")
    demo_scorecard.refresh_from_db()
    assert demo_scorecard.version == published
