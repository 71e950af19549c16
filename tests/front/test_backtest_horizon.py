"""The horizon of the backtest page: chosen in the query to view, posted to start a worker run
or open the suggestion as a draft; a bad horizon says why and falls back to 90 days. The
"Renewals" scorecard and its portfolio come from tests/learning/conftest.py: each outcome's
values are dated 105 days before its renewal and go stale after 60 days."""

import pytest
from django.urls import reverse

from scorecards.learning import runs
from scorecards.models import BacktestRun, RenewalCalibration, ScorecardDraft
from tests.learning.conftest import (  # noqa: F401 (a fixture)
    renewals_scorecard,
    separable_portfolio,
)

pytestmark = pytest.mark.django_db


def _page(client, user, scorecard, query: str = ""):
    client.force_login(user)
    return client.get(reverse("front:backtest", kwargs={"pk": scorecard.pk}) + query)


def test_backtest_horizon_defaults_to_90_days(client, ops, scorecard):
    response = _page(client, ops, scorecard)
    page = response.context["page"]
    assert (page.horizon_days, page.report["horizon_days"]) == (90, 90)
    assert page.report["n_scored"] == 30  # values 15 days old on the scoring date
    assert "Horizon: <strong>90 days</strong> before renewal" in response.content.decode()


def test_backtest_horizon_from_the_query_changes_the_report(client, ops, scorecard):
    response = _page(client, ops, scorecard, "?horizon=120")
    page = response.context["page"]
    html = response.content.decode()
    assert (page.horizon_days, page.report["horizon_days"]) == (120, 120)
    # 120 days before renewal comes before the values (105 days before): nothing is scored.
    assert (page.report["n_scored"], page.report["n_not_scored"]) == (0, 30)
    assert page.suggested is None
    assert "Horizon: <strong>120 days</strong> before renewal" in html
    assert "scored 120 days before its renewal" in html
    assert "Open as draft" not in html


def test_backtest_horizon_calibrates_at_the_chosen_horizon(client, ops, scorecard):
    page = _page(client, ops, scorecard, "?horizon=100").context["page"]
    assert (page.calibration.horizon_days, page.calibration.n_outcomes) == (100, 30)
    assert list(RenewalCalibration.objects.values_list("horizon_days", flat=True)) == [100]


@pytest.mark.parametrize("horizon", ["0", "731", "-5", "ninety", "1.5"])
def test_backtest_horizon_invalid_says_why_and_shows_the_default(client, ops, scorecard, horizon):
    response = _page(client, ops, scorecard, f"?horizon={horizon}")
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["page"].report["horizon_days"] == 90
    assert "Choose a horizon of 1 to 730 days. Showing the default, 90 days." in html
    assert "Horizon: <strong>90 days</strong> before renewal" in html


def test_backtest_horizon_empty_is_the_default_without_error(client, ops, scorecard):
    response = _page(client, ops, scorecard, "?horizon=")
    assert response.context["page"].horizon_days == 90
    assert 'data-testid="horizon-error"' not in response.content.decode()


def test_backtest_run_records_the_posted_horizon(
    client, leader, scorecard, django_capture_on_commit_callbacks
):
    client.force_login(leader)
    url = reverse("front:backtest-run", kwargs={"pk": scorecard.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"horizon": "100"})
    run = BacktestRun.objects.get()
    assert response["Location"] == f"/scorecards/{scorecard.pk}/backtest/?horizon=100"
    assert (run.horizon_days, run.requested_by, run.status) == (100, leader, "finished")
    assert (run.result["horizon_days"], run.result["n_scored"]) == (100, 30)


def test_backtest_run_with_an_invalid_horizon_starts_nothing(client, ops, scorecard):
    client.force_login(ops)
    url = reverse("front:backtest-run", kwargs={"pk": scorecard.pk})
    response = client.post(url, {"horizon": "0"}, follow=True)
    assert BacktestRun.objects.count() == 0
    assert [str(m) for m in response.context["messages"]] == ["Choose a horizon of 1 to 730 days."]
    assert response.redirect_chain == [(f"/scorecards/{scorecard.pk}/backtest/", 302)]


def test_backtest_run_is_403_for_a_csm(client, csm, scorecard):
    client.force_login(csm)
    url = reverse("front:backtest-run", kwargs={"pk": scorecard.pk})
    assert client.post(url, {"horizon": "100"}).status_code == 403
    assert BacktestRun.objects.count() == 0


def test_large_portfolio_shows_the_finished_run_at_the_chosen_horizon(
    client, ops, scorecard, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        runs.backtest_run_start(scorecard=scorecard, horizon_days=90)
        at_120 = runs.backtest_run_start(scorecard=scorecard, horizon_days=120)
    monkeypatch.setattr("scorecards.learning.selectors.SYNC_OUTCOMES_LIMIT", 10)
    page = _page(client, ops, scorecard, "?horizon=120").context["page"]
    at_120.refresh_from_db()
    assert (page.is_large, page.report) == (True, at_120.result)
    assert page.report["n_not_scored"] == 30


def test_large_portfolio_without_a_run_at_the_horizon_offers_one(
    client, ops, scorecard, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        runs.backtest_run_start(scorecard=scorecard, horizon_days=90)
    monkeypatch.setattr("scorecards.learning.selectors.SYNC_OUTCOMES_LIMIT", 10)
    response = _page(client, ops, scorecard, "?horizon=200")
    html = response.content.decode()
    assert response.context["page"].report is None
    assert "No backtest at 200 days yet" in html
    assert '<input type="hidden" name="horizon" value="200">' in html
    assert "Run the backtest again (200 days)" in html


def test_backtest_progress_names_the_runs_horizon(client, ops, scorecard):
    run = BacktestRun.objects.create(
        scorecard=scorecard,
        horizon_days=180,
        status=BacktestRun.Status.RUNNING,
        progress=40,
        stage="Fitting",
    )
    client.force_login(ops)
    response = client.get(reverse("front:backtest-progress", kwargs={"pk": run.pk}))
    assert "Backtest at 180 days running: Fitting (40 %)" in response.content.decode()


def test_open_as_draft_fits_at_the_posted_horizon(client, ops, scorecard):
    client.force_login(ops)
    url = reverse("front:draft-open", kwargs={"pk": scorecard.pk})
    response = client.post(url, {"horizon": "100"})
    draft = ScorecardDraft.objects.get()
    assert response["Location"] == f"/scorecards/drafts/{draft.pk}/"
    assert draft.report["horizon_days"] == 100


def test_open_as_draft_with_too_few_outcomes_returns_to_the_horizon(client, ops, scorecard):
    client.force_login(ops)
    url = reverse("front:draft-open", kwargs={"pk": scorecard.pk})
    response = client.post(url, {"horizon": "120"})  # nothing scored 120 days before
    assert response["Location"] == f"/scorecards/{scorecard.pk}/backtest/?horizon=120"
    assert ScorecardDraft.objects.count() == 0


def test_draft_preview_backtests_at_the_horizon_of_its_suggestion(client, ops, scorecard):
    client.force_login(ops)
    client.post(reverse("front:draft-open", kwargs={"pk": scorecard.pk}), {"horizon": "100"})
    draft = ScorecardDraft.objects.get()
    response = client.get(reverse("front:draft", kwargs={"pk": draft.pk}))
    assert response.context["preview"].preview["backtest"]["horizon_days"] == 100
    assert "Each renewal outcome scored 100 days before its renewal date." in (
        response.content.decode()
    )
