"""From usage to score, in the browser: a derived measure's inputs in words on the account
page, in the breakdown and in "what changed"."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from metrics.models import Metric
from metrics.services import metric_values_ingest
from scorecards.documents import scorecard_to_document
from scorecards.models import Scorecard
from scorecards.services import ingestion
from tests.accounts.factories import AccountFactory, UserFactory
from tests.browser.conftest import screenshot
from tests.browser.test_pages import log_in
from tests.front.conftest import score_day

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("migrated_data")]


@pytest.fixture
def acme():
    """Acme's Deployment derived from active users per licensed seat; scored a week ago on
    avg(30, 40) = 35 of 50 seats (0.7) and today on avg(30, 40, 41, 42) = 38.25 (0.77)."""
    today = timezone.localdate()
    week_ago = today - dt.timedelta(days=7)
    dana = UserFactory(username="dana", first_name="Dana", role="CSM")
    account = AccountFactory(owner=dana, name="Acme Corp", external_id="ACME")
    for key, name in (("active_users", "Active users"), ("licensed_seats", "Licensed seats")):
        Metric.objects.create(key=key, name=name)
    scorecard = Scorecard.objects.get(is_default=True)
    document = scorecard_to_document(scorecard)
    document["groups"][0]["measures"][0]["source"] = {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "per": {"metric": "licensed_seats"},
    }
    ingestion.scorecard_document_save(document=document, user=None, scorecard=scorecard)
    rows = [
        (week_ago - dt.timedelta(days=1), "active_users", 30),
        (week_ago, "active_users", 40),
        (week_ago, "licensed_seats", 50),
        (today - dt.timedelta(days=1), "active_users", 41),
        (today, "active_users", 42),
        (today, "licensed_seats", 50),
    ]
    metric_values_ingest(
        rows=[
            {"account": "ACME", "metric": key, "date": on.isoformat(), "value": value}
            for on, key, value in rows
        ],
        user=None,
    )
    score_day(week_ago)
    score_day(today)
    return account


def test_account_page_says_what_deployment_was_made_of(page: Page, acme):
    log_in(page, "dana")
    page.goto(f"/accounts/{acme.pk}/")
    inputs = page.locator("table.breakdown [data-inputs=deployment]")
    # (30 + 40 + 41 + 42) / 4 = 38.25; 38.25 / 50 = 0.765 → 0.77 in words (raw value 0.765).
    expect(inputs).to_have_text("avg active users (28 d) 38.25 ÷ licensed seats 50 = 0.77")
    expect(page.locator(".change-list .inputs").first).to_have_text(
        "avg active users (28 d) 35 ÷ licensed seats 50 = 0.7 → "
        "avg active users (28 d) 38.25 ÷ licensed seats 50 = 0.77"
    )
    screenshot(page, "account-usage-inputs")
