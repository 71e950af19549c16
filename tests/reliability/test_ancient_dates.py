"""Item 1 of issue 13: a value dated 0001-01-01 is a bad row in every ingestion path, and a
stored one (written before the rule, or straight into the database) never turns a read into
a 500."""

import datetime as dt
from decimal import Decimal

import pytest

from scorecards.models import MeasureValue
from scorecards.services import scoring
from tests.api.conftest import client_for
from tests.api.test_score_likelihood import DAY, _scored_account
from tests.learning.conftest import add_outcome, renewals_scorecard  # noqa: F401 (a fixture)
from tests.learning.test_likelihood import likelihood_portfolio

ANCIENT = dt.date(1, 1, 1)


@pytest.mark.django_db
def test_a_stored_ancient_value_does_not_break_the_score_api_or_the_account_page(
    csm,
    client,
    renewals_scorecard,  # noqa: F811
):
    account = _scored_account(renewals_scorecard, csm, 62)
    # Straight into the tables, as an older release's import would have stored them.
    MeasureValue.objects.create(
        account=account,
        measure=renewals_scorecard.measures["usage"],
        raw_value=10,
        score=Decimal("10"),
        as_of=ANCIENT,
        source="import",
    )
    add_outcome(
        renewals_scorecard,
        outcome="renewed",
        renewal_date=ANCIENT.replace(year=2),
        usage=50,
        value_on=ANCIENT,
    )
    likelihood_portfolio(renewals_scorecard)
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=DAY))

    response = client_for(csm).get(f"/api/v1/accounts/{account.external_id}/score/")
    client.force_login(csm)
    page = client.get(f"/accounts/{account.pk}/")

    assert response.status_code == 200
    assert response.json()["overall"] == 62.0
    assert page.status_code == 200
