"""The backtest page (CS Ops and leaders), opening the suggestion as a draft, and the draft's
impact preview with publish and discard (CS Ops only). The "Renewals" scorecard and its
portfolios come from tests/learning/conftest.py."""

import numpy as np
import pytest
from django.urls import reverse
from sklearn.metrics import roc_auc_score

from scorecards.learning import runs
from scorecards.models import BacktestRun, ScorecardDraft
from scorecards.services import drafts
from tests.learning.conftest import (  # noqa: F401 (a fixture)
    add_outcome,
    renewals_scorecard,
    separable_portfolio,
)

pytestmark = pytest.mark.django_db


def _get(client, user, name, pk):
    client.force_login(user)
    return client.get(reverse(name, kwargs={"pk": pk}))


def test_backtest_page_is_403_for_a_csm(client, csm, scorecard):
    assert _get(client, csm, "front:backtest", scorecard.pk).status_code == 403


def test_backtest_page_auc_is_scikit_learns(client, ops, scorecard):
    response = _get(client, ops, "front:backtest", scorecard.pk)
    report = response.context["page"].report
    # separable_portfolio: overall = (60·usage + 40·pulse) / 100, both present.
    churned = np.array([i % 5 in (0, 2) for i in range(30)])
    usage = np.array([10 + i if c else 60 + i for i, c in enumerate(churned)], dtype=float)
    pulse = np.array([(20, 40, 60, 80)[i % 4] for i in range(30)], dtype=float)
    overall = (60 * usage + 40 * pulse) / 100
    assert report["current"]["auc"] == round(roc_auc_score(churned, -overall), 4)
    assert report["current"]["auc_holdout"] == round(roc_auc_score(churned[21:], -overall[21:]), 4)
    html = response.content.decode()
    assert f'data-testid="auc">{report["current"]["auc"]}<' in html
    assert 'data-chart="band-churn"' in html


def test_backtest_page_withholds_a_suggestion_that_is_not_reliably_better(client, ops, scorecard):
    response = _get(client, ops, "front:backtest", scorecard.pk)
    suggested = response.context["page"].report["suggested"]
    # Nine held-out outcomes: the paired bootstrap interval of the gain reaches 0 or below.
    assert suggested["is_better"] is False
    assert suggested["auc_holdout_gain_interval"][0] <= 0
    html = response.content.decode()
    assert "Open as draft" not in html
    assert 'data-testid="suggestion-withheld"' in html
    assert "the suggestion is not reliably better, so it is not offered" in html


def test_backtest_page_leader_sees_no_draft_button(client, leader, scorecard):
    response = _get(client, leader, "front:backtest", scorecard.pk)
    assert response.status_code == 200
    assert "Open as draft" not in response.content.decode()


def test_backtest_page_says_when_outcomes_are_too_few(client, ops, renewals_scorecard):  # noqa: F811
    for i in range(5):
        add_outcome(renewals_scorecard, outcome="churned" if i < 2 else "renewed", usage=50)
    html = _get(client, ops, "front:backtest", renewals_scorecard.pk).content.decode()
    assert "Not enough renewal outcomes yet (5, need 20" in html
    assert "Not enough renewal outcomes yet for a renewal likelihood (5 scored" in html
    assert "Open as draft" not in html


def test_open_as_draft_creates_the_suggestion_and_shows_its_preview(client, ops, scorecard):
    client.force_login(ops)
    response = client.post(reverse("front:draft-open", kwargs={"pk": scorecard.pk}))
    draft = ScorecardDraft.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/scorecards/drafts/{draft.pk}/"
    assert (draft.source, draft.created_by) == (ScorecardDraft.Source.OPTIMIZER, ops)


def test_open_as_draft_is_403_for_a_leader(client, leader, scorecard):
    client.force_login(leader)
    response = client.post(reverse("front:draft-open", kwargs={"pk": scorecard.pk}))
    assert response.status_code == 403
    assert not ScorecardDraft.objects.exists()


def _draft(scorecard):
    return drafts.scorecard_draft_create(
        scorecard=scorecard, measure_weights={}, group_weights={"Outcomes": 90, "Experience": 10}
    )


def test_draft_page_band_matrix_adds_up_to_the_assigned_accounts(client, leader, scorecard):
    response = _get(client, leader, "front:draft", _draft(scorecard).pk)
    preview = response.context["preview"]
    # The 30 outcome accounts are active Enterprise accounts: all assigned to "Renewals".
    assert sum(row["accounts"] for row in preview.matrix_rows) == 30
    assert preview.preview["accounts"] == 30
    html = response.content.decode()
    assert "Backtest: published vs draft" in html
    # Leaders look, CS Ops publish: no publish form (the backtest's "Published" column stays).
    assert 'data-testid="publish-form"' not in html


def test_draft_publish_records_a_version(client, ops, scorecard):
    draft = _draft(scorecard)
    client.force_login(ops)
    response = client.post(reverse("front:draft-publish", kwargs={"pk": draft.pk}))
    assert response.status_code == 302
    scorecard.refresh_from_db()
    assert scorecard.version == 2
    assert scorecard.groups.get(name="Outcomes").weight == 90


def test_draft_publish_is_403_for_a_leader(client, leader, scorecard):
    draft = _draft(scorecard)
    client.force_login(leader)
    response = client.post(reverse("front:draft-publish", kwargs={"pk": draft.pk}))
    assert response.status_code == 403


def test_draft_discard_deletes_it(client, ops, scorecard):
    draft = _draft(scorecard)
    client.force_login(ops)
    response = client.post(reverse("front:draft-discard", kwargs={"pk": draft.pk}))
    assert response["Location"] == f"/scorecards/{scorecard.pk}/versions/"
    assert not ScorecardDraft.objects.exists()


def test_backtest_progress_partial_polls_while_running(client, ops, scorecard):
    run = BacktestRun.objects.create(
        scorecard=scorecard, status=BacktestRun.Status.RUNNING, progress=40, stage="Fitting"
    )
    response = _get(client, ops, "front:backtest-progress", run.pk)
    assert 'hx-trigger="every 1s"' in response.content.decode()
    assert "Fitting (40 %)" in response.content.decode()
    assert "HX-Refresh" not in response


def test_backtest_progress_partial_reloads_the_page_when_finished(client, ops, scorecard):
    run = BacktestRun.objects.create(scorecard=scorecard, status=BacktestRun.Status.FINISHED)
    assert _get(client, ops, "front:backtest-progress", run.pk)["HX-Refresh"] == "true"


def test_large_portfolio_shows_the_latest_finished_run(client, ops, scorecard, monkeypatch):
    monkeypatch.setattr("scorecards.learning.selectors.SYNC_OUTCOMES_LIMIT", 10)
    result = {**runs.scorecard_backtest_and_suggest(scorecard=scorecard)}
    BacktestRun.objects.create(
        scorecard=scorecard, status=BacktestRun.Status.FINISHED, result=result
    )
    page = _get(client, ops, "front:backtest", scorecard.pk).context["page"]
    assert (page.is_large, page.report["current"]["auc"]) == (True, result["current"]["auc"])


def test_portfolio_links_the_backtest_for_leaders(client, leader, scorecard):
    client.force_login(leader)
    html = client.get(reverse("front:portfolio")).content.decode()
    assert f'href="/scorecards/{scorecard.pk}/backtest/"' in html


def test_backtest_page_starts_a_run_for_a_worker(
    client, ops, scorecard, django_capture_on_commit_callbacks
):
    client.force_login(ops)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("front:backtest-run", kwargs={"pk": scorecard.pk}))
    assert response.status_code == 302
    assert (BacktestRun.objects.get().requested_by, len(callbacks)) == (ops, 1)


def test_open_as_draft_of_a_large_portfolio_uses_the_finished_run(
    client, ops, scorecard, monkeypatch
):
    report = runs.scorecard_backtest_and_suggest(scorecard=scorecard)
    BacktestRun.objects.create(
        scorecard=scorecard, status=BacktestRun.Status.FINISHED, result=report
    )
    monkeypatch.setattr("scorecards.learning.selectors.SYNC_OUTCOMES_LIMIT", 10)

    def no_new_fit(**kwargs):
        raise AssertionError("the optimizer ran again")

    monkeypatch.setattr(drafts.backtest, "scorecard_optimize", no_new_fit)
    client.force_login(ops)
    client.post(reverse("front:draft-open", kwargs={"pk": scorecard.pk}))
    draft = ScorecardDraft.objects.get()
    assert draft.report == report
    assert (
        draft.definition["groups"][0]["weight"] == report["suggested"]["group_weights"]["Outcomes"]
    )


def test_open_as_draft_refits_when_the_run_is_of_another_version(
    client, ops, scorecard, monkeypatch
):
    report = runs.scorecard_backtest_and_suggest(scorecard=scorecard)
    BacktestRun.objects.create(
        scorecard=scorecard,
        status=BacktestRun.Status.FINISHED,
        result={**report, "scorecard_version": 0},
    )
    monkeypatch.setattr("scorecards.learning.selectors.SYNC_OUTCOMES_LIMIT", 10)
    client.force_login(ops)
    client.post(reverse("front:draft-open", kwargs={"pk": scorecard.pk}))
    assert ScorecardDraft.objects.get().report["scorecard_version"] == 1
