"""Cached pages (front/read_models with healthscore/read_model_cache.py) on a real Redis cache:
a page is served from the cache until a write changes what it shows, and each such write
shows on the next load."""

import datetime as dt
import os
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.ingestion import contacts_upsert
from risk.choices import RiskStatus
from risk.services import risk_transition, risks_evaluate_for_account
from scorecards.documents import scorecard_to_document
from scorecards.models import Scorecard
from scorecards.services.drafts import scorecard_draft_create, scorecard_draft_publish
from scorecards.services.ingestion import measure_values_ingest
from tests.accounts.factories import ContactFactory, TouchpointFactory
from tests.api.conftest import client_for
from tests.conftest import service_missing
from tests.front.conftest import adoption_account, measure_value, score_day, today
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db
DASHBOARD = "/dashboard/"


@pytest.fixture(autouse=True)
def redis_cache(settings):
    """The cache the servers use: Redis, under a prefix of this test's own (nothing flushed)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        service_missing("needs Redis: set REDIS_URL=redis://…")
    prefix = f"test-page-cache-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "healthscore.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    yield
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def page_queries(client, url: str) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


# What a cached dashboard still asks the database on every load: the user and the user's
# groups (the session comes from the cache). Every part, the user's own ones too (My tasks,
# the risk inbox, the saved views), comes rendered from the cache (front/fragments.py).
CACHED_DASHBOARD_QUERIES = 2


def test_dashboard_second_load_is_served_from_the_cache(client, csm):
    adoption_account(csm, 0.2, today())
    score_day(today())
    client.force_login(csm)
    # The first view fits the renewal likelihood (a stored calibration changes what the
    # pages show, so it makes them stale once); the next computes the page.
    page_queries(client, DASHBOARD)
    _, computed = page_queries(client, DASHBOARD)
    _, cached = page_queries(client, DASHBOARD)
    # The computed page runs the dashboard's queries (count, ids, rows, sparklines, bands …).
    assert (computed > CACHED_DASHBOARD_QUERIES + 6, cached) == (True, CACHED_DASHBOARD_QUERIES)


def test_dashboard_shows_a_finished_run_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.2, today() - dt.timedelta(days=1))
    score_day(today() - dt.timedelta(days=1))
    client.force_login(csm)
    assert client.get(DASHBOARD).context["table"].rows[0].overall == Decimal("20.00")
    measure_value(account, "adoption", 0.8, 80, today())
    # A new value alone does not change the current score: the page is the same.
    assert client.get(DASHBOARD).context["table"].rows[0].overall == Decimal("20.00")
    score_day(today())
    row = client.get(DASHBOARD).context["table"].rows[0]
    assert (row.overall, row.band.label) == (Decimal("80.00"), "Green")


def test_portfolio_shows_a_finished_run_on_the_next_load(client, csm, leader):
    adoption_account(csm, 0.2, today())
    score_day(today())
    client.force_login(leader)
    assert client.get("/portfolio/").context["portfolio"].totals.average_score == Decimal("20.00")
    adoption_account(csm, 0.6, today())
    score_day(today())
    totals = client.get("/portfolio/").context["portfolio"].totals
    assert (totals.accounts, totals.average_score) == (2, Decimal("40.00"))  # (20 + 60) / 2


def test_account_page_shows_a_recorded_sentiment_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.6, today())
    score_day(today())
    client.force_login(csm)
    url = reverse("front:account-detail", args=[account.pk])
    assert client.get(url).context["timeline"] == []
    response = client.post(
        reverse("front:account-sentiment", args=[account.pk]), {"score": 5, "comment": "Happy"}
    )
    assert response.status_code == 302
    context = client.get(url).context
    values = [(e.title, e.detail) for e in context["timeline"] if e.kind == "value"]
    assert values == [("CSM sentiment: 5 (score 100.00)", "Happy")]
    # Outcomes 60 (weight 50) and Experience 100 (weight 30, sentiment alone):
    # (50·60 + 30·100) / 80 = 75
    assert context["score"].snapshot.overall == Decimal("75.00")


def test_account_page_shows_pushed_measure_values_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.6, today())
    client.force_login(csm)
    url = reverse("front:account-detail", args=[account.pk])
    assert client.get(url).context["timeline"] == []
    row = {
        "account": account.external_id,
        "measure": "nps",
        "raw_value": 40,
        "as_of": today().isoformat(),
        "comment": "Survey",
    }
    measure_values_ingest(rows=[row], user=csm)
    timeline = client.get(url).context["timeline"]
    assert [(e.title, e.detail) for e in timeline] == [("NPS: 40 (score 70.00)", "Survey")]


def test_dashboard_shows_a_risk_move_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.6, today())
    score_day(today())
    risk = RiskFactory(account=account)
    client.force_login(csm)
    assert client.get(DASHBOARD).context["table"].rows[0].open_risks == 1
    risk_transition(risk=risk, to_status=RiskStatus.RESOLVED, user=csm, note="Called them")
    assert client.get(DASHBOARD).context["table"].rows[0].open_risks == 0


def test_dashboard_shows_risks_an_evaluation_raised_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.6, today())
    measure_value(account, "csm_sentiment", 1, 0, today(), comment="Angry")
    score_day(today())
    client.force_login(csm)
    assert client.get(DASHBOARD).context["table"].rows[0].open_risks == 0
    risks_evaluate_for_account(account=account, as_of=today())  # bulk: no signal
    # Low sentiment (1), single-threaded and no sponsor (the account has no contact).
    assert client.get(DASHBOARD).context["table"].rows[0].open_risks == 3


def test_dashboard_shows_a_scorecard_published_through_the_api_on_the_next_load(client, csm, ops):
    adoption_account(csm, 0.2, today())
    score_day(today())
    client.force_login(csm)
    assert client.get(DASHBOARD).context["table"].rows[0].band.color == "#c0392b"
    default = Scorecard.objects.get(is_default=True)
    document = scorecard_to_document(default)
    document["bands"][0]["color"] = "#aa0000"
    response = client_for(ops).put(f"/api/v1/scorecards/{default.pk}/", document, format="json")
    assert response.status_code == 200
    assert client.get(DASHBOARD).context["table"].rows[0].band.color == "#aa0000"


def test_published_draft_makes_the_cached_pages_stale(client, csm, ops):
    adoption_account(csm, 0.2, today())
    score_day(today())
    client.force_login(csm)
    page_queries(client, DASHBOARD)  # fits the renewal likelihood, see above
    page_queries(client, DASHBOARD)
    _, cached = page_queries(client, DASHBOARD)
    default = Scorecard.objects.get(is_default=True)
    draft = scorecard_draft_create(scorecard=default, measure_weights={"adoption": 40}, user=ops)
    scorecard_draft_publish(draft=draft, user=ops)
    _, after_publish = page_queries(client, DASHBOARD)
    assert (cached, after_publish > cached) == (CACHED_DASHBOARD_QUERIES, True)


def test_account_page_shows_new_contacts_and_touchpoints_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.6, today())
    client.force_login(csm)
    url = reverse("front:account-detail", args=[account.pk])
    assert (client.get(url).context["contacts"], client.get(url).context["timeline"]) == ([], [])
    contact = ContactFactory(account=account, name="Ada Sponsor")
    touchpoint = TouchpointFactory(account=account, occurred_on=today(), summary="QBR")
    touchpoint.contacts.add(contact)
    context = client.get(url).context
    assert [c.name for c in context["contacts"]] == ["Ada Sponsor"]
    assert [(e.title, e.detail) for e in context["timeline"]] == [
        ("Meeting with Ada Sponsor", "QBR")
    ]


def test_account_page_shows_contacts_pushed_in_bulk_on_the_next_load(client, csm):
    account = adoption_account(csm, 0.6, today())
    client.force_login(csm)
    url = reverse("front:account-detail", args=[account.pk])
    assert client.get(url).context["contacts"] == []
    row = {"external_id": "C-1", "account": account.external_id, "name": "Bo Champion"}
    contacts_upsert(rows=[row], user=csm)  # bulk: no signal
    assert [c.name for c in client.get(url).context["contacts"]] == ["Bo Champion"]


def test_dashboard_cache_is_per_visible_scope(client, csm, other_csm, leader):
    adoption_account(csm, 0.2, today(), name="Mine")
    adoption_account(other_csm, 0.9, today(), name="Theirs")
    score_day(today())
    seen = {}
    for user in (csm, other_csm, leader, csm):
        client.force_login(user)
        seen[user.username] = [row.name for row in client.get(DASHBOARD).context["table"].rows]
    assert seen == {"csm": ["Mine"], "other": ["Theirs"], "lee": ["Mine", "Theirs"]}


def test_cached_account_page_and_portfolio_take_a_constant_few_queries(
    client, csm, leader, django_assert_max_num_queries
):
    short = adoption_account(csm, 0.5, today())
    long = adoption_account(csm, 0.7, today() - dt.timedelta(days=60))
    for offset in range(50, 0, -10):
        measure_value(long, "adoption", 0.6, 60, today() - dt.timedelta(days=offset))
        score_day(today() - dt.timedelta(days=offset))
    score_day(today())
    client.force_login(csm)
    counts = []
    for account in (short, long):
        url = reverse("front:account-detail", args=[account.pk])
        client.get(url)  # computed; the first one fits the renewal likelihood (a write)
        client.get(url)
        counts.append(page_queries(client, url)[1])
    # User, groups, the account, then its risks (with their events): the breakdown,
    # history, contacts and timeline come from the cache, whatever the history's length.
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(counts[0]):
        client.get(reverse("front:account-detail", args=[long.pk]))
    client.force_login(leader)
    _, computed = page_queries(client, "/portfolio/")
    _, cached = page_queries(client, "/portfolio/")
    assert cached < computed
    with django_assert_max_num_queries(cached):
        client.get("/portfolio/")
