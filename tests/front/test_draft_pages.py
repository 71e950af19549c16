"""The scorecard change pages: versions, the draft editor with every problem listed, publish
with its rescore's progress, rollback; CS Ops change, leaders look, CSMs get 403."""

import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from metrics.models import Metric
from scorecards.models import Measure, Scorecard, ScorecardDraft, ScoreRun
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


# Band tiers and derived measures' sources as fields, validated as the document is


class _FormFields(HTMLParser):
    """The name → value pairs a browser posts from the draft editor's form, left as rendered:
    text and hidden inputs, ticked checkboxes, each select's selected option, the textarea."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("data-testid") == "draft-form":
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and (attrs.get("type") != "checkbox" or "checked" in attrs):
            self.fields[name] = attrs.get("value") or ("on" if "checked" in attrs else "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def editor_fields(client, draft) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(client.get(reverse("front:draft", kwargs={"pk": draft.pk})).content.decode())
    return parser.fields


def _nps(document: dict) -> dict:
    # The default scorecard: Experience (group 1) holds csm_sentiment, nps, support.
    return document["groups"][1]["measures"][1]


@pytest.fixture
def metrics(db):
    for key in ("active_users", "licensed_seats"):
        Metric.objects.create(key=key, name=key.replace("_", " "))


def test_editor_shows_each_bands_tier_and_each_measures_source(client, ops, draft, metrics):
    draft.definition["groups"][1]["measures"][1]["source"] = {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "per": {"metric": "licensed_seats", "aggregate": "last", "window_days": 1},
        "change": True,
    }
    draft.save()
    client.force_login(ops)
    fields = editor_fields(client, draft)
    assert [fields[f"band:{b}:tier"] for b in range(3)] == ["at_risk", "watch", "healthy"]
    assert {name: value for name, value in fields.items() if name.startswith("source:1:1:")} == {
        "source:1:1:metric": "active_users",
        "source:1:1:aggregate": "avg",
        "source:1:1:window_days": "28",
        "source:1:1:per_metric": "licensed_seats",
        "source:1:1:per_aggregate": "last",
        "source:1:1:per_window_days": "1",
        "source:1:1:change": "on",
    }
    assert fields["source:0:0:metric"] == fields["source:0:0:aggregate"] == ""


def test_editing_a_band_tier_saves_the_draft_not_the_scorecard(client, ops, default, draft):
    client.force_login(ops)
    fields = editor_fields(client, draft)
    fields["band:1:tier"] = "at_risk"
    assert client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields).status_code == 302
    draft.refresh_from_db()
    assert [band["tier"] for band in draft.definition["bands"]] == ["at_risk", "at_risk", "healthy"]
    assert default.bands.get(label="Yellow").tier == "watch"
    assert default.version == 1


def test_a_band_tier_set_to_default_leaves_it_to_its_position(client, ops, draft):
    client.force_login(ops)
    fields = editor_fields(client, draft)
    fields["band:1:tier"] = ""
    client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields)
    draft.refresh_from_db()
    assert "tier" not in draft.definition["bands"][1]
    assert editor_fields(client, draft)["band:1:tier"] == ""


def test_filling_in_a_source_makes_a_derived_measure_in_the_draft_only(
    client, ops, default, draft, metrics
):
    client.force_login(ops)
    fields = editor_fields(client, draft)
    fields.update(
        {
            "source:1:1:metric": "active_users",
            "source:1:1:aggregate": "avg",
            "source:1:1:window_days": "28",
            "source:1:1:per_metric": "licensed_seats",
            "source:1:1:change": "on",
        }
    )
    client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields)
    draft.refresh_from_db()
    assert _nps(draft.definition)["source"] == {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "per": {"metric": "licensed_seats"},
        "change": True,
    }
    response = client.get(reverse("front:draft", kwargs={"pk": draft.pk}))
    assert response.context["editor"].problems == []
    assert Measure.objects.get(key="nps").source is None


def test_emptying_a_source_makes_the_measure_pushed_again(client, ops, draft, metrics):
    _nps(draft.definition)["source"] = {
        "metric": "active_users",
        "aggregate": "sum",
        "window_days": 7,
    }
    draft.save()
    client.force_login(ops)
    fields = editor_fields(client, draft)
    for name in ("metric", "aggregate", "window_days"):
        fields[f"source:1:1:{name}"] = ""
    client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields)
    draft.refresh_from_db()
    assert "source" not in _nps(draft.definition)


def test_a_bad_source_and_tier_are_saved_and_named_as_the_document_names_them(
    client, ops, draft, metrics
):
    client.force_login(ops)
    fields = editor_fields(client, draft)
    fields.update(
        {
            "band:2:tier": "great",
            "source:1:1:metric": "logins",
            "source:1:1:aggregate": "avg",
            "source:1:1:window_days": "0",
            "source:1:1:per_window_days": "7",
        }
    )
    client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields)
    draft.refresh_from_db()
    assert _nps(draft.definition)["source"]["window_days"] == 0

    response = client.get(reverse("front:draft", kwargs={"pk": draft.pk}))
    # The API's serializer checks the shape first (a tier is one of three), as for a document.
    assert response.context["editor"].problems == [
        ("bands.2.tier", '"great" is not a valid choice.'),
    ]
    html = response.content.decode()
    assert "1 problem to fix before publishing" in html
    assert '<option value="great" selected>great (not allowed)</option>' in html

    fields = editor_fields(client, draft)
    fields["band:2:tier"] = "healthy"
    client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields)
    response = client.get(reverse("front:draft", kwargs={"pk": draft.pk}))
    assert response.context["editor"].problems == [
        (
            "groups.1.measures.1.source.metric",
            "No metric with key \u201clogins\u201d; declare it first.",
        ),
        (
            "groups.1.measures.1.source.window_days",
            "window_days must be a whole number of days from 1 to 366, not 0.",
        ),
        ("groups.1.measures.1.source.per.metric", "Name the metric to compute from (its key)."),
    ]
    assert 'data-testid="publish"' not in response.content.decode()


def test_fields_left_as_shown_do_not_undo_an_edit_typed_into_the_document(
    client, ops, draft, metrics
):
    client.force_login(ops)
    fields = editor_fields(client, draft)
    document = json.loads(fields["document"])
    document["bands"][0]["tier"] = "watch"
    document["groups"][0]["weight"] = 65
    _nps(document)["source"] = {"metric": "active_users", "aggregate": "max", "window_days": 14}
    fields["document"] = json.dumps(document)
    client.post(reverse("front:draft", kwargs={"pk": draft.pk}), fields)
    draft.refresh_from_db()
    assert draft.definition["bands"][0]["tier"] == "watch"
    assert draft.definition["groups"][0]["weight"] == 65
    assert _nps(draft.definition)["source"] == {
        "metric": "active_users",
        "aggregate": "max",
        "window_days": 14,
    }
