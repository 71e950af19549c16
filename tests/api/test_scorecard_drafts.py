"""Drafts, publish and rollback through the API (PRODUCT.md "Changing a scorecard safely").

The default scorecard: Outcomes (50) holds adoption (linear 0–1), Experience (30) holds
csm_sentiment (steps), Relationship (20) has no value here. The account has adoption 0.6 (60)
and sentiment 4 (75): under version 1 its score is (50·60 + 30·75) / 80 = 65.625 → 65.63.
"""

import copy
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from scorecards.documents import scorecard_document_normalize, scorecard_to_document
from scorecards.models import Scorecard, ScorecardDraft, ScoreRun, ScoreSnapshot
from tests.api.conftest import client_for
from tests.front.conftest import measure_value

pytestmark = pytest.mark.django_db


@pytest.fixture
def default():
    return Scorecard.objects.get(is_default=True)


@pytest.fixture
def scored_account(account):
    today = timezone.localdate()
    measure_value(account, "adoption", 0.6, 60, today - dt.timedelta(days=2))
    measure_value(account, "csm_sentiment", 4, 75, today - dt.timedelta(days=2))
    return account


def with_outcomes_weight(default, weight):
    document = scorecard_to_document(default)
    document["groups"][0]["weight"] = weight
    return document


def today_score(account) -> Decimal:
    return ScoreSnapshot.objects.get(account=account, as_of=timezone.localdate()).overall


def test_draft_create_answers_the_contract_shape(ops, default):
    document = with_outcomes_weight(default, 10)
    response = client_for(ops).post(
        f"/api/v1/scorecards/{default.pk}/drafts/", document, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "scorecard": default.pk,
        "based_on_version": 1,
        "document": document,
    }
    assert client_for(ops).get(f"/api/v1/scorecard-drafts/{body['id']}/").json() == body


@pytest.mark.parametrize("role", ["csm", "leader"])
def test_only_cs_ops_create_publish_discard_or_roll_back(request, role, default):
    client = client_for(request.getfixturevalue(role))
    draft = ScorecardDraft.objects.create(
        scorecard=default, base_version=1, definition=scorecard_to_document(default)
    )
    document = scorecard_to_document(default)
    answers = [
        client.post(f"/api/v1/scorecards/{default.pk}/drafts/", document, format="json"),
        client.put(f"/api/v1/scorecard-drafts/{draft.pk}/", document, format="json"),
        client.post(f"/api/v1/scorecard-drafts/{draft.pk}/publish/", {}, format="json"),
        client.delete(f"/api/v1/scorecard-drafts/{draft.pk}/"),
        client.post(f"/api/v1/scorecards/{default.pk}/rollback/", {"version": 1}, format="json"),
    ]
    assert [answer.status_code for answer in answers] == [403] * 5
    assert ScorecardDraft.objects.count() == 1


def test_a_broken_draft_is_saved_but_not_published(ops, default):
    broken = with_outcomes_weight(default, 0)
    broken["bands"][0]["min"] = 10
    client = client_for(ops)
    draft = client.post(f"/api/v1/scorecards/{default.pk}/drafts/", broken, format="json").json()
    response = client.post(f"/api/v1/scorecard-drafts/{draft['id']}/publish/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "bands": [
            "The lowest band must start at 0 so that every score has a band: “Red” starts at 10."
        ],
        "groups.0.weight": ["The weight must be positive, not 0."],
    }
    default.refresh_from_db()
    assert (default.version, ScorecardDraft.objects.get().status) == (1, "draft")


def test_publish_makes_a_version_and_rescores_in_the_background(
    ops, default, scored_account, django_capture_on_commit_callbacks
):
    client = client_for(ops)
    draft = client.post(
        f"/api/v1/scorecards/{default.pk}/drafts/", with_outcomes_weight(default, 10), format="json"
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/scorecard-drafts/{draft['id']}/publish/",
            {"note": "Less on outcomes"},
            format="json",
        )
    assert response.status_code == 202
    run = ScoreRun.objects.get()
    assert response.json() == {"version": 2, "run": run.pk}
    assert (run.status, run.accounts_total, run.is_full) == ("finished", 1, False)
    # (10·60 + 30·75) / 40 = 71.25
    assert today_score(scored_account) == Decimal("71.25")
    version = default.versions.get(number=2)
    assert (version.note, version.created_by) == ("Less on outcomes", ops)


def test_the_second_of_two_publishes_is_told_to_rebase(
    ops, default, django_capture_on_commit_callbacks
):
    client = client_for(ops)
    url = f"/api/v1/scorecards/{default.pk}/drafts/"
    first = client.post(url, with_outcomes_weight(default, 10), format="json").json()
    second = client.post(url, with_outcomes_weight(default, 90), format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.post(f"/api/v1/scorecard-drafts/{first['id']}/publish/", {}, format="json")
        ).status_code == 202
    response = client.post(f"/api/v1/scorecard-drafts/{second['id']}/publish/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "scorecard_moved_on"
    # Nothing lost: the second draft is still a draft with its document.
    kept = ScorecardDraft.objects.get(pk=second["id"])
    assert (kept.status, kept.definition["groups"][0]["weight"]) == ("draft", 90)
    default.refresh_from_db()
    assert default.version == 2


def test_rollback_restores_the_old_scores(
    ops, default, scored_account, django_capture_on_commit_callbacks
):
    client = client_for(ops)
    with django_capture_on_commit_callbacks(execute=True):
        client.put(
            f"/api/v1/scorecards/{default.pk}/", with_outcomes_weight(default, 10), format="json"
        )
    assert today_score(scored_account) == Decimal("71.25")  # (10·60 + 30·75) / 40
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/scorecards/{default.pk}/rollback/",
            {"version": 1, "note": "Too early"},
            format="json",
        )
    assert response.status_code == 202
    assert response.json()["version"] == 3
    assert today_score(scored_account) == Decimal("65.63")  # (50·60 + 30·75) / 80, as in v1
    version = default.versions.get(number=3)
    assert version.note == "Rollback to v1: Too early"
    # Version 1 of the default scorecard was written with measure descriptions, which the
    # document no longer carries: the same definition once normalised.
    assert version.definition == scorecard_document_normalize(
        default.versions.get(number=1).definition
    )


def test_preview_answers_the_contract_shape(ops, default, scored_account):
    client = client_for(ops)
    from scorecards.services import scoring

    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=timezone.localdate()))
    draft = client.post(
        f"/api/v1/scorecards/{default.pk}/drafts/",
        with_outcomes_weight(default, 10),
        format="json",
    ).json()
    body = client.get(f"/api/v1/scorecard-drafts/{draft['id']}/preview/").json()
    assert body["date"] == timezone.localdate().isoformat()
    assert [cell for cell in body["matrix"] if cell["accounts"]] == [
        {"from": "Yellow", "to": "Yellow", "accounts": 1, "arr": float(scored_account.arr)}
    ]
    # 65.63 → 71.25: +5.62; adoption 50/80·60 = 37.50 → 10/40·60 = 15.00 (−22.50),
    # sentiment 30/80·75 = 28.13 → 30/40·75 = 56.25 (+28.12)
    assert body["movers"] == [
        {
            "account": scored_account.external_id,
            "from": 65.63,
            "to": 71.25,
            "change": 5.62,
            "measures": [
                {"key": "csm_sentiment", "current": 28.13, "draft": 56.25, "change": 28.12},
                {"key": "adoption", "current": 37.5, "draft": 15.0, "change": -22.5},
            ],
        }
    ]
    assert set(body["backtest"]) == {"published", "draft", "n_outcomes"}


def test_config_as_code_put_still_publishes_at_once(ops, default):
    changed = copy.deepcopy(with_outcomes_weight(default, 70))
    response = client_for(ops).put(f"/api/v1/scorecards/{default.pk}/", changed, format="json")
    assert (response.status_code, response.json()["version"]) == (200, 2)
    assert ScoreRun.objects.filter(is_full=False).count() == 1
