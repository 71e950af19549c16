"""The scorecard change pages: versions, the draft editor with every problem listed, publish
with its rescore's progress, rollback; CS Ops change, leaders look, CSMs get 403."""

import json

import pytest
from django.urls import reverse

from scorecards.models import Scorecard, ScorecardDraft, ScoreRun
from scorecards.services import publishing

pytestmark = pytest.mark.django_db


@pytest.fixture
def default():
    return Scorecard.objects.get(is_default=True)


@pytest.fixture
def draft(default, ops):
    return publishing.scorecard_draft_open(scorecard=default, user=ops)


def test_new_draft_copies_the_live_definition(client, ops, default):
    client.force_login(ops)
    response = client.post(reverse("front:draft-new", kwargs={"pk": default.pk}))
    draft = ScorecardDraft.objects.get()
    assert response["Location"] == f"/scorecards/drafts/{draft.pk}/"
    assert (draft.base_version, draft.created_by) == (1, ops)
    assert draft.definition["groups"][0]["weight"] == 50


def test_editing_a_weight_saves_the_draft_not_the_scorecard(client, ops, default, draft):
    client.force_login(ops)
    page = client.get(reverse("front:draft", kwargs={"pk": draft.pk}))
    assert page.status_code == 200
    response = client.post(
        reverse("front:draft", kwargs={"pk": draft.pk}),
        {"document": json.dumps(draft.definition), "group:0": "70", "note": "More outcomes"},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    default.refresh_from_db()
    assert (draft.definition["groups"][0]["weight"], draft.note) == (70, "More outcomes")
    assert (default.version, default.groups.get(name="Outcomes").weight) == (1, 50)


def test_a_broken_draft_is_saved_and_every_problem_listed(client, ops, draft):
    client.force_login(ops)
    document = draft.definition
    document["bands"][0]["min"] = 10
    client.post(
        reverse("front:draft", kwargs={"pk": draft.pk}),
        {"document": json.dumps(document), "group:1": "-3"},
    )
    response = client.get(reverse("front:draft", kwargs={"pk": draft.pk}))
    assert response.context["editor"].problems == [
        (
            "bands",
            "The lowest band must start at 0 so that every score has a band: “Red” starts at 10.",
        ),
        ("groups.1.weight", "The weight must be positive, not -3."),
    ]
    html = response.content.decode()
    assert "2 problems to fix before publishing" in html
    assert 'data-testid="publish"' not in html


def test_publish_redirects_to_the_rescore_that_follows(
    client, ops, default, draft, django_capture_on_commit_callbacks
):
    draft.definition["groups"][0]["weight"] = 70
    draft.save()
    client.force_login(ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("front:draft-publish", kwargs={"pk": draft.pk}), {"note": "Outcomes first"}
        )
    run = ScoreRun.objects.get()
    assert response["Location"] == f"/scorecards/runs/{run.pk}/"
    progress = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="finished"' in progress
    default.refresh_from_db()
    assert (default.version, default.versions.get(number=2).note) == (2, "Outcomes first")


def test_versions_page_lists_who_when_why_and_rolls_back(
    client, ops, default, draft, django_capture_on_commit_callbacks
):
    draft.definition["groups"][0]["weight"] = 70
    draft.save()
    publishing.scorecard_draft_publish_document(draft=draft, user=ops, note="Outcomes first")
    client.force_login(ops)
    page = client.get(reverse("front:scorecard-versions", kwargs={"pk": default.pk}))
    [latest, first] = page.context["page"].versions
    assert (latest.number, latest.created_by, latest.note) == (2, "ops", "Outcomes first")
    assert [str(change) for change in latest.changes] == ["group Outcomes: 50 → 70"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("front:scorecard-rollback", kwargs={"pk": default.pk}),
            {"version": 1, "note": "Too soon"},
        )
    default.refresh_from_db()
    assert (default.version, default.groups.get(name="Outcomes").weight) == (3, 50)


@pytest.mark.parametrize("role", ["csm", "leader"])
def test_only_cs_ops_change_scorecards_on_the_pages(client, request, role, default, draft):
    client.force_login(request.getfixturevalue(role))
    posts = [
        ("front:draft-new", default.pk, {}),
        ("front:draft", draft.pk, {"document": "{}"}),
        ("front:draft-publish", draft.pk, {}),
        ("front:draft-discard", draft.pk, {}),
        ("front:draft-rebase", draft.pk, {}),
        ("front:scorecard-rollback", default.pk, {"version": 1}),
    ]
    codes = [
        client.post(reverse(name, kwargs={"pk": pk}), data).status_code for name, pk, data in posts
    ]
    assert codes == [403] * 6
    assert ScorecardDraft.objects.count() == 1
