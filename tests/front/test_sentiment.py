import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from risk.choices import RiskStatus, RiskType
from risk.models import Risk
from scorecards.models import CurrentScore, MeasureValue
from tests.front.conftest import measure_value, score_day, today

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def scored(account):
    """Adoption 0.6 (score 60) and sentiment 4 (score 75), scored yesterday:
    (50·60 + 30·75) / 80 = 65.63, Yellow."""
    yesterday = today() - dt.timedelta(days=1)
    measure_value(account, "adoption", 0.6, 60, yesterday)
    measure_value(account, "csm_sentiment", 4, 75, yesterday)
    score_day(yesterday)
    return account


def post(client, account, **data):
    url = reverse("front:account-sentiment", kwargs={"pk": account.pk})
    return client.post(url, data, headers=HTMX)


@pytest.mark.parametrize("score", [1, 2])
def test_sentiment_needs_a_comment_when_poor(client, csm, scored, score):
    client.force_login(csm)
    response = post(client, scored, score=score, comment="  ")
    assert response.status_code == 200
    assert response.context["sentiment_form"].errors == {
        "comment": ["Say why when the sentiment is 1 or 2."]
    }
    assert MeasureValue.objects.filter(account=scored, source="manual").count() == 0


def test_sentiment_of_3_needs_no_comment(client, csm, scored):
    client.force_login(csm)
    assert post(client, scored, score=3).context["sentiment_saved"] is True


def test_sentiment_must_be_1_to_5(client, csm, scored):
    client.force_login(csm)
    response = post(client, scored, score=6, comment="x")
    assert list(response.context["sentiment_form"].errors) == ["score"]


def test_sentiment_records_a_manual_value(client, csm, scored):
    client.force_login(csm)
    post(client, scored, score=1, comment="Champion left, budget cut")
    value = MeasureValue.objects.get(account=scored, source="manual")
    assert (value.measure.key, value.raw_value, value.score, value.as_of) == (
        "csm_sentiment",
        1.0,
        Decimal("0.00"),
        today(),
    )
    assert (value.comment, value.entered_by) == ("Champion left, budget cut", csm)


def test_sentiment_rescores_the_account_at_once(client, csm, scored):
    client.force_login(csm)
    response = post(client, scored, score=1, comment="Champion left")
    current = CurrentScore.objects.get(account=scored)
    # Sentiment 1 scores 0: (50·60 + 30·0) / 80 = 37.50 → Red (was 65.63, Yellow)
    assert (current.as_of, current.overall, current.band) == (today(), Decimal("37.50"), "Red")
    assert response.context["score"].snapshot.overall == Decimal("37.50")
    # The default scorecard flags a sentiment score ≤ 25.
    assert response.context["score"].exception_reasons == ["Low CSM sentiment"]


def test_low_sentiment_raises_a_risk_in_the_same_response(client, csm, scored):
    client.force_login(csm)
    response = post(client, scored, score=1, comment="Champion left")
    risk = Risk.objects.get(account=scored, risk_type=RiskType.LOW_SENTIMENT)
    # Sentiment score 0: critical (PRODUCT.md, risk rules).
    assert (risk.status, risk.severity) == (RiskStatus.OPEN, "critical")
    assert risk in [line.risk for line in response.context["risks"]]
    assert 'id="risks" hx-swap-oob="innerHTML"' in response.content.decode()


def test_second_sentiment_of_a_day_replaces_the_first(client, csm, scored):
    client.force_login(csm)
    post(client, scored, score=1, comment="Bad call")
    post(client, scored, score=5, comment="Sorted out")
    assert MeasureValue.objects.filter(account=scored, source="manual").count() == 1
    # (50·60 + 30·100) / 80 = 75.00 → Green
    assert CurrentScore.objects.get(account=scored).overall == Decimal("75.00")


def test_sentiment_without_htmx_redirects_to_the_account(client, csm, scored):
    client.force_login(csm)
    url = reverse("front:account-sentiment", kwargs={"pk": scored.pk})
    response = client.post(url, {"score": 4})
    assert response.status_code == 302
    assert response["Location"] == reverse("front:account-detail", kwargs={"pk": scored.pk})
