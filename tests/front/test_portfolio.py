import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from scorecards.models import ScoreSnapshot
from tests.accounts.factories import AccountFactory, UserFactory
from tests.api.test_accounts import give_current_score
from tests.front.conftest import adoption_account, measure_value, score_day, today
from tests.scorecards.factories import BandFactory, ScorecardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio_data(csm):
    """Scored 35 days ago and today. Today: Globex 90 Green (ARR 100k), Initech 60 Yellow
    (50k), Umbrella 20 Red (30k) of `csm`; Hooli not scored (20k) of another CSM."""
    day, month_ago = today(), today() - dt.timedelta(days=35)
    accounts = {
        "globex": adoption_account(
            csm, 0.5, month_ago, name="Globex", arr=100000, segment="Enterprise"
        ),
        "initech": adoption_account(
            csm, 0.6, month_ago, name="Initech", arr=50000, renewal_date=day + dt.timedelta(days=30)
        ),
        "umbrella": adoption_account(
            csm,
            0.7,
            month_ago,
            name="Umbrella",
            arr=30000,
            renewal_date=day + dt.timedelta(days=60),
        ),
    }
    score_day(month_ago)
    for key, adoption in (("globex", 0.9), ("initech", 0.6), ("umbrella", 0.2)):
        measure_value(accounts[key], "adoption", adoption, adoption * 100, day)
    AccountFactory(name="Hooli", arr=20000, owner=UserFactory(username="zed", role="CSM"))
    score_day(day)
    return accounts


def overview(client, leader):
    client.force_login(leader)
    response = client.get(reverse("front:portfolio"))
    assert response.status_code == 200
    return response.context["portfolio"]


def test_portfolio_totals(client, leader, portfolio_data):
    totals = overview(client, leader).totals
    # Average over the scored accounts: (90 + 60 + 20) / 3 = 56.67; at risk: Umbrella (Red).
    assert (totals.accounts, totals.scored, totals.arr) == (4, 3, Decimal("200000.00"))
    assert totals.average_score == Decimal("56.67")
    assert totals.arr_at_risk == Decimal("30000.00")


def test_portfolio_tier_distribution_by_count_and_arr(client, leader, portfolio_data):
    bands = overview(client, leader).band_counts
    assert [(b.band.label, b.count, b.arr) for b in bands] == [
        ("Healthy", 1, Decimal("100000.00")),
        ("Watch", 1, Decimal("50000.00")),
        ("At risk", 1, Decimal("30000.00")),
        ("Not scored", 1, Decimal("20000.00")),
    ]
    assert bands[0].arr_share == 0.5


def test_portfolio_rollup_by_csm_links_into_the_dashboard(client, leader, csm, portfolio_data):
    rollups = dict(overview(client, leader).rollups)
    by_csm = {row.label: row for row in rollups["CSM"]}
    assert (by_csm["csm"].accounts, by_csm["csm"].arr_at_risk) == (3, Decimal("30000.00"))
    assert (by_csm["csm"].param, by_csm["csm"].value) == ("owner", str(csm.pk))
    # The most ARR at risk first.
    assert [(row.label, row.accounts) for row in rollups["Segment"]] == [
        ("Mid-Market", 3),
        ("Enterprise", 1),
    ]


def test_portfolio_movers_use_the_30_day_trend(client, leader, portfolio_data):
    portfolio = overview(client, leader)
    # Umbrella 70 → 20 (−50), Globex 50 → 90 (+40), Initech 60 → 60 (0, neither list).
    assert [(m.name, m.trend_30) for m in portfolio.movers_down] == [
        ("Umbrella", Decimal("-50.00"))
    ]
    assert [(m.name, m.trend_30) for m in portfolio.movers_up] == [("Globex", Decimal("40.00"))]


def test_portfolio_renewals_in_90_days_by_tier(client, leader, portfolio_data):
    renewals = overview(client, leader).renewals
    assert [(b.band.label, b.count, b.arr) for b in renewals] == [
        ("Healthy", 0, Decimal(0)),
        ("Watch", 1, Decimal("50000.00")),
        ("At risk", 1, Decimal("30000.00")),
    ]
    # No renewal outcomes: no likelihood is shown.
    assert [b.likelihood for b in renewals] == [None, None, None]


def test_portfolio_trend_has_the_weekly_points_with_scores(client, leader, portfolio_data):
    trend = overview(client, leader).trend
    # Snapshots on today − 35 (a weekly date) and today.
    assert trend["labels"] == [(today() - dt.timedelta(days=35)).isoformat(), today().isoformat()]
    # (50 + 60 + 70) / 3 = 60.00, then (90 + 60 + 20) / 3 = 56.67
    assert trend["average"] == [60.0, 56.67]


def test_portfolio_csv_has_one_row_per_account(client, leader, portfolio_data):
    client.force_login(leader)
    response = client.get(reverse("front:portfolio-csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="portfolio-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["external_id", "name", "owner", "segment"]
    by_name = {row[1]: row for row in rows[1:]}
    assert sorted(by_name) == ["Globex", "Hooli", "Initech", "Umbrella"]
    umbrella = dict(zip(rows[0], by_name["Umbrella"], strict=True))
    # Scores with one decimal, as in the page lists; no renewal outcomes, so no likelihood.
    assert {
        key: umbrella[key]
        for key in (
            "currency",
            "arr",
            "overall",
            "band",
            "band_tier",
            "coverage",
            "renewal_likelihood",
            "trend_30",
        )
    } == {
        "currency": "USD",
        "arr": "30000.00",
        "overall": "20.0",
        "band": "Red",
        "band_tier": "at_risk",
        "coverage": "0.1500",  # only adoption is present
        "renewal_likelihood": "",
        "trend_30": "-50.0",
    }
    assert dict(zip(rows[0], by_name["Hooli"], strict=True))["band"] == "Not scored"


def test_portfolio_without_accounts_says_so(client, leader):
    client.force_login(leader)
    assert "No accounts yet" in client.get(reverse("front:portfolio")).content.decode()


def _portfolio_queries(client, leader, count: int) -> int:
    day = today()
    for i in range(count):
        adoption_account(UserFactory(role="CSM"), 0.1 + i / 50, day, segment=f"S{i % 3}")
    score_day(day)
    client.force_login(leader)
    cache.clear()  # count the queries of the page computed, not served from the cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("front:portfolio"))
    assert response.context["portfolio"].totals.accounts == count
    return len(queries)


def test_portfolio_queries_do_not_grow_with_the_portfolio(client, leader):
    few = _portfolio_queries(client, leader, 5)
    ScoreSnapshot.objects.all().delete()
    Account.objects.all().delete()
    many = _portfolio_queries(client, leader, 30)
    assert few == many


def test_portfolio_arr_at_risk_is_the_at_risk_tier_of_each_accounts_scorecard(client, leader):
    # "Red" is the default scorecard's at-risk band; on "Strict" it sits above "Critical".
    strict = ScorecardFactory(name="Strict")
    BandFactory(scorecard=strict, label="Critical", min_score=0, tier="at_risk")
    BandFactory(scorecard=strict, label="Red", min_score=40, tier="watch")
    for name, arr, band, scorecard in (
        ("Red on default", 100, "Red", None),
        ("Red on Strict", 200, "Red", strict),
        ("Critical on Strict", 400, "Critical", strict),
    ):
        account = AccountFactory(name=name, arr=arr)
        fields = {"scorecard": scorecard} if scorecard else {}
        give_current_score(account, Decimal("30.00"), band, **fields)
    # 100 (the default's Red) + 400 (Strict's Critical); Strict's Red is not at risk.
    assert overview(client, leader).totals.arr_at_risk == Decimal("500.00")
