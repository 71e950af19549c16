import copy
import importlib

import pytest
from django.contrib import admin
from django.db import connection
from django.forms import CheckboxInput, MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metrics.models import Metric
from scorecards.choices import ExceptionAction
from scorecards.documents import scorecard_to_document
from scorecards.models import (
    Band,
    ExceptionRule,
    Measure,
    MeasureGroup,
    MeasureValue,
    RetentionPolicy,
    Scorecard,
    ScorecardDraft,
    ScorecardMeasure,
    ScorecardVersion,
    ScoreRun,
    ScoreSnapshot,
)
from tests.accounts.factories import UserFactory
from tests.scorecards.factories import (
    BandFactory,
    MeasureFactory,
    MeasureGroupFactory,
    MeasureValueFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
    ScoreRunFactory,
    ScoreSnapshotFactory,
)

DEFAULT_SCORECARD = importlib.import_module(
    "scorecards.migrations.0002_default_scorecard"
).DEFAULT_SCORECARD


def _post_values(bound_field) -> dict:
    """The POST entries a browser sends for one bound field left at its initial value."""
    field, widget, name = bound_field.field, bound_field.field.widget, bound_field.html_name
    value = bound_field.value()
    entries = {}
    if field.show_hidden_initial:
        entries[bound_field.html_initial_name] = "" if value is None else str(value)
    widget = getattr(widget, "widget", widget)  # the admin wraps related widgets
    if isinstance(widget, CheckboxInput):
        if value:
            entries[name] = "on"
    elif isinstance(widget, MultiWidget):
        for index, part in enumerate(widget.decompress(value)):
            entries[f"{name}_{index}"] = "" if part is None else str(part)
    elif getattr(widget, "allow_multiple_selected", False):
        # Nothing ticked sends nothing.
        entries[name] = [str(item) for item in value or []]
    else:
        entries[name] = "" if value is None else str(value)
    return entries


def form_post_data(form) -> dict:
    """A form's fields at their initial values, as POST data."""
    data = {}
    for bound_field in form:
        data.update(_post_values(bound_field))
    return data


def formset_post_data(formset) -> dict:
    """A formset's management form and every form (extra ones too, left empty)."""
    data = form_post_data(formset.management_form)
    for form in formset.forms:
        data.update(form_post_data(form))
    return data


def admin_post_data(response) -> dict:
    """A valid POST for the admin add/change form rendered in `response`, built from the
    initial data of the main form and of every inline formset."""
    data = form_post_data(response.context["adminform"].form)
    for inline_admin_formset in response.context["inline_admin_formsets"]:
        data.update(formset_post_data(inline_admin_formset.formset))
    return data


def row_prefix(data: dict, formset_prefix: str, field: str, value) -> str:
    """The prefix ("bands-1") of the inline row whose `field` holds `value`."""
    total = int(data[f"{formset_prefix}-TOTAL_FORMS"])
    for index in range(total):
        if data.get(f"{formset_prefix}-{index}-{field}") == str(value):
            return f"{formset_prefix}-{index}"
    raise AssertionError(f"no {formset_prefix} row with {field}={value!r}")


def expected_default_document() -> dict:
    """DEFAULT_SCORECARD without the fields the document does not have (descriptions)."""
    document = copy.deepcopy(DEFAULT_SCORECARD)
    # Migration 0011 gave the bands their default tiers (lowest at_risk, highest healthy).
    for band, tier in zip(document["bands"], ["at_risk", "watch", "healthy"], strict=True):
        band["tier"] = tier
    for group in document["groups"]:
        for measure in group["measures"]:
            del measure["description"]
    return document


@pytest.fixture
def scorecard(db) -> Scorecard:
    return Scorecard.objects.get(is_default=True)


@pytest.fixture
def change_url(scorecard) -> str:
    return reverse("admin:scorecards_scorecard_change", args=[scorecard.pk])


@pytest.fixture
def post_data(admin_client, change_url) -> dict:
    response = admin_client.get(change_url)
    assert response.status_code == 200
    return admin_post_data(response)


def _errors(response) -> list[str]:
    """Every error message on the re-rendered admin page: main form, inline forms, formsets."""
    form = response.context["adminform"].form
    messages = [str(error) for errors in form.errors.values() for error in errors]
    for inline_admin_formset in response.context["inline_admin_formsets"]:
        formset = inline_admin_formset.formset
        messages += [str(error) for error in formset.non_form_errors()]
        for form in formset.forms:
            for errors in form.errors.values():
                messages += [str(error) for error in errors]
    return messages


def _field_errors(response, formset_prefix: str, row: str, field: str) -> list[str]:
    for inline_admin_formset in response.context["inline_admin_formsets"]:
        formset = inline_admin_formset.formset
        if formset.prefix == formset_prefix:
            form = formset.forms[int(row.rsplit("-", 1)[1])]
            return [str(error) for error in form.errors.get(field, [])]
    raise AssertionError(f"no formset {formset_prefix}")


def _assert_unchanged(scorecard: Scorecard) -> None:
    scorecard.refresh_from_db()
    assert scorecard.version == 1
    assert ScorecardVersion.objects.filter(scorecard=scorecard).count() == 1
    assert scorecard_to_document(scorecard) == expected_default_document()


# Every page renders


SCORECARD_MODELS = [
    Scorecard,
    ScorecardVersion,
    Measure,
    MeasureValue,
    ScoreSnapshot,
    ScoreRun,
    RetentionPolicy,
]


@pytest.fixture
def one_of_each(db):
    """A row in every table, so that the changelists render rows, not an empty list."""
    MeasureValueFactory(measure=Measure.objects.get(key="nps"), raw_value=40.0)
    ScoreSnapshotFactory()
    ScoreRunFactory()
    RetentionPolicy.load()


def test_admin_registers_every_scorecard_model_with_a_page():
    registered = {model for model in admin.site._registry if model._meta.app_label == "scorecards"}
    assert registered == set(SCORECARD_MODELS)


@pytest.mark.parametrize("model", SCORECARD_MODELS, ids=lambda model: model.__name__)
def test_admin_changelist_renders(admin_client, one_of_each, model):
    url = reverse(f"admin:scorecards_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize("model", SCORECARD_MODELS, ids=lambda model: model.__name__)
def test_admin_change_page_renders(admin_client, one_of_each, model):
    obj = model.objects.order_by("pk").first()
    url = reverse(f"admin:scorecards_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("model", "status_code"),
    [
        (Scorecard, 200),
        (Measure, 200),
        (MeasureValue, 200),
        # Written by the product only.
        (ScorecardVersion, 403),
        (ScoreSnapshot, 403),
        (ScoreRun, 403),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_admin_add_page(admin_client, model, status_code):
    url = reverse(f"admin:scorecards_{model._meta.model_name}_add")
    assert admin_client.get(url).status_code == status_code


def test_admin_changelist_search_measure_values_by_account(admin_client, one_of_each):
    value = MeasureValue.objects.select_related("account").get()
    url = reverse("admin:scorecards_measurevalue_changelist")
    response = admin_client.get(url, {"q": value.account.external_id})
    assert list(response.context["cl"].result_list) == [value]


def test_admin_scorecard_version_cannot_be_changed(admin_client, scorecard):
    version = scorecard.versions.get()
    url = reverse("admin:scorecards_scorecardversion_change", args=[version.pk])
    response = admin_client.post(url, {"note": "rewritten"})
    assert response.status_code == 403
    version.refresh_from_db()
    assert version.note == "Created with the product."


def test_admin_scorecard_version_cannot_be_deleted(admin_client, scorecard):
    version = scorecard.versions.get()
    url = reverse("admin:scorecards_scorecardversion_delete", args=[version.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert ScorecardVersion.objects.filter(pk=version.pk).exists()


def publish_admin_draft() -> None:
    """The admin saves a change as a draft (never a live version); publish it as CS Ops
    would on the draft page, with its author and note."""
    from scorecards.services import publishing

    draft = ScorecardDraft.objects.latest("pk")
    publishing.scorecard_draft_publish_document(draft=draft, user=draft.created_by)


# Who may open the scorecard page


def test_scorecard_change_page_opens_for_cs_ops(client, change_url):
    client.force_login(UserFactory(role="CS Ops", is_staff=True))
    assert client.get(change_url).status_code == 200


def test_scorecard_change_by_cs_ops_is_recorded_as_theirs(client, scorecard, change_url):
    cs_ops = UserFactory(role="CS Ops", is_staff=True)
    client.force_login(cs_ops)
    data = admin_post_data(client.get(change_url))
    data["min_coverage"] = "0.5"
    assert client.post(change_url, data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert scorecard.versions.get(number=2).created_by == cs_ops


def test_scorecard_change_page_redirects_a_csm_to_the_login(client, csm, change_url):
    client.force_login(csm)
    response = client.get(change_url)
    assert response.status_code == 302
    assert response.url == f"{reverse('admin:login')}?next={change_url}"


def test_scorecard_change_page_shows_the_version_history(admin_client, change_url):
    response = admin_client.get(change_url)
    assert "Created with the product." in response.content.decode()
    assert ">v1</a>" in response.content.decode()


# Saving creates a version only when the definition changed


def test_scorecard_change_unchanged_creates_no_version(
    admin_client, scorecard, change_url, post_data
):
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 302
    _assert_unchanged(scorecard)


def test_scorecard_change_description_only_creates_no_version(
    admin_client, scorecard, change_url, post_data
):
    post_data["description"] = "A new description; not part of the definition."
    assert admin_client.post(change_url, post_data).status_code == 302
    scorecard.refresh_from_db()
    assert scorecard.description == "A new description; not part of the definition."
    assert scorecard.version == 1
    assert scorecard.versions.count() == 1


def test_scorecard_change_creates_version_2_with_the_document(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'groups', 'name', 'Outcomes')}-weight"] = "60"
    post_data["version_note"] = "More weight on outcomes."
    response = admin_client.post(change_url, post_data)
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert response.status_code == 302

    expected = expected_default_document()
    expected["groups"][0]["weight"] = 60
    scorecard.refresh_from_db()
    assert scorecard.version == 2
    version = scorecard.versions.get(number=2)
    assert version.definition == expected
    assert version.note == "More weight on outcomes."
    assert version.created_by.username == "admin"
    assert scorecard.versions.count() == 2


def test_scorecard_change_stores_assignment_lists(admin_client, scorecard, change_url, post_data):
    post_data["segments"] = "Enterprise, Mid-Market, Enterprise, "
    post_data["tiers"] = " Gold "
    post_data["lifecycles"] = ["onboarding", "renewing"]
    post_data["priority"] = "10"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    scorecard.refresh_from_db()
    assert scorecard.segments == ["Enterprise", "Mid-Market"]
    assert scorecard.tiers == ["Gold"]
    assert scorecard.lifecycles == ["onboarding", "renewing"]
    assert scorecard.versions.get(number=2).definition["assignment"] == {
        "priority": 10,
        "segment": ["Enterprise", "Mid-Market"],
        "tier": ["Gold"],
        "lifecycle": ["onboarding", "renewing"],
    }


def test_scorecard_change_page_shows_assignment_lists_comma_separated(
    admin_client, scorecard, change_url
):
    scorecard.segments = ["Enterprise", "Mid-Market"]
    scorecard.save()
    response = admin_client.get(change_url)
    assert admin_post_data(response)["segments"] == "Enterprise, Mid-Market"


def test_scorecard_change_deleting_a_middle_band_saves(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Yellow')}-DELETE"] = "on"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert list(scorecard.bands.values_list("label", flat=True)) == ["Red", "Green"]
    assert scorecard.versions.get(number=2).definition["bands"] == [
        {"label": "Red", "min": 0, "color": "#c0392b", "tier": "at_risk"},
        {"label": "Green", "min": 75, "color": "#27ae60", "tier": "healthy"},
    ]


def test_scorecard_change_bands_entered_out_of_order_are_kept_sorted(
    admin_client, scorecard, change_url, post_data
):
    # Bands are lower bounds: the row order does not matter, only distinct minimums do.
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Yellow')}-min_score"] = "80"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert [band["label"] for band in scorecard.versions.get(number=2).definition["bands"]] == [
        "Red",
        "Green",
        "Yellow",
    ]


def test_scorecard_change_cap_band_may_name_a_band_renamed_in_the_same_save(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Red')}-label"] = "Critical"
    rule = row_prefix(post_data, "exceptions", "action", "flag")
    post_data[f"{rule}-action"] = ExceptionAction.CAP_BAND
    post_data[f"{rule}-band"] = "Critical"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert scorecard.versions.get(number=2).definition["exceptions"] == [
        {
            "measure": "csm_sentiment",
            "op": "<=",
            "value": 25,
            "action": "cap_band",
            "band": "Critical",
            "reason": "Low CSM sentiment",
        }
    ]


def test_scorecard_change_override_rule_saves_its_score(
    admin_client, scorecard, change_url, post_data
):
    rule = row_prefix(post_data, "exceptions", "action", "flag")
    post_data[f"{rule}-action"] = ExceptionAction.OVERRIDE
    post_data[f"{rule}-score"] = "20"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert scorecard.versions.get(number=2).definition["exceptions"][0] == {
        "measure": "csm_sentiment",
        "op": "<=",
        "value": 25,
        "action": "override",
        "score": 20,
        "reason": "Low CSM sentiment",
    }


# Invalid changes re-render the form with the error and change nothing


@pytest.mark.parametrize("weight", ["0", "-10"])
def test_scorecard_change_rejects_a_group_weight_that_is_not_positive(
    admin_client, scorecard, change_url, post_data, weight
):
    row = row_prefix(post_data, "groups", "name", "Outcomes")
    post_data[f"{row}-weight"] = weight
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "groups", row, "weight") == [
        f"The weight must be positive, not {weight}."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_a_zero_measure_weight(
    admin_client, scorecard, change_url, post_data
):
    nps = Measure.objects.get(key="nps")
    row = row_prefix(post_data, "scorecard_measures", "measure", nps.pk)
    post_data[f"{row}-weight"] = "0"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "scorecard_measures", row, "weight") == [
        "The weight must be positive, not 0."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_duplicate_band_mins(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Yellow')}-min_score"] = "75"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _errors(response) == [
        "Bands “Yellow”, “Green” have the same minimum 75; each band needs its own lower bound."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_duplicate_band_labels(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Yellow')}-label"] = "Green"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _errors(response) == ["Band labels must be unique: “Green” is used 2 times."]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_a_lowest_band_above_zero(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Red')}-min_score"] = "10"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _errors(response) == [
        "The lowest band must start at 0 so that every score has a band: “Red” starts at 10."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_deleting_the_lowest_band(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Red')}-DELETE"] = "on"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _errors(response) == [
        "The lowest band must start at 0 so that every score has a band: “Yellow” starts at 50."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_a_band_min_above_100(
    admin_client, scorecard, change_url, post_data
):
    row = row_prefix(post_data, "bands", "label", "Green")
    post_data[f"{row}-min_score"] = "101"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "bands", row, "min_score") == [
        "Ensure this value is less than or equal to 100."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_cap_band_naming_an_unknown_band(
    admin_client, scorecard, change_url, post_data
):
    rule = row_prefix(post_data, "exceptions", "action", "flag")
    post_data[f"{rule}-action"] = ExceptionAction.CAP_BAND
    post_data[f"{rule}-band"] = "Purple"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "exceptions", rule, "band") == [
        "“Purple” is not one of this scorecard's bands (“Green”, “Red”, “Yellow”)."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_cap_band_naming_a_band_deleted_in_the_same_save(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Yellow')}-DELETE"] = "on"
    rule = row_prefix(post_data, "exceptions", "action", "flag")
    post_data[f"{rule}-action"] = ExceptionAction.CAP_BAND
    post_data[f"{rule}-band"] = "Yellow"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "exceptions", rule, "band") == [
        "“Yellow” is not one of this scorecard's bands (“Green”, “Red”)."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_an_override_without_score(
    admin_client, scorecard, change_url, post_data
):
    rule = row_prefix(post_data, "exceptions", "action", "flag")
    post_data[f"{rule}-action"] = ExceptionAction.OVERRIDE
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "exceptions", rule, "score") == [
        "An override rule needs the score to set (0–100)."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_a_flag_with_a_score(
    admin_client, scorecard, change_url, post_data
):
    rule = row_prefix(post_data, "exceptions", "action", "flag")
    post_data[f"{rule}-score"] = "10"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "exceptions", rule, "score") == [
        "Only an override rule carries a score; clear it for flag."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_a_group_of_another_scorecard(
    admin_client, scorecard, change_url, post_data
):
    other_group = MeasureGroupFactory(name="Elsewhere")
    nps = Measure.objects.get(key="nps")
    row = row_prefix(post_data, "scorecard_measures", "measure", nps.pk)
    post_data[f"{row}-group"] = str(other_group.pk)
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _field_errors(response, "scorecard_measures", row, "group") == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_offers_only_this_scorecards_groups(admin_client, change_url):
    MeasureGroupFactory(name="Elsewhere")
    response = admin_client.get(change_url)
    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "scorecard_measures"
    )
    groups = formset.forms[0].fields["group"].queryset
    assert [group.name for group in groups] == ["Outcomes", "Experience", "Relationship"]


def test_scorecard_change_rejects_measures_left_in_a_deleted_group(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'groups', 'name', 'Relationship')}-DELETE"] = "on"
    response = admin_client.post(change_url, post_data)
    assert response.status_code == 200
    assert _errors(response) == [
        "The group “Relationship” is being deleted; move this measure or delete it too.",
        "The group “Relationship” is being deleted; move this measure or delete it too.",
    ]
    _assert_unchanged(scorecard)


def test_scorecard_change_rejects_a_second_default(admin_client):
    other = BandFactory(scorecard__name="Enterprise").scorecard
    url = reverse("admin:scorecards_scorecard_change", args=[other.pk])
    data = admin_post_data(admin_client.get(url))
    data["is_default"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert _errors(response) == ["“Standard B2B” is the default scorecard; untick it there first."]
    other.refresh_from_db()
    assert other.is_default is False


# Adding a scorecard


def add_post(admin_client, **fields) -> dict:
    url = reverse("admin:scorecards_scorecard_add")
    data = admin_post_data(admin_client.get(url))
    data.update(
        {
            "name": "Enterprise",
            "priority": "10",
            "min_coverage": "0.5",
            "bands-0-label": "At risk",
            "bands-0-min_score": "0",
            "bands-1-label": "Healthy",
            "bands-1-min_score": "60",
            "groups-0-name": "Outcomes",
            "groups-0-weight": "100",
            **fields,
        }
    )
    return admin_client.post(url, data)


ADDED_DOCUMENT = {
    "name": "Enterprise",
    "is_default": False,
    "min_coverage": 0.5,
    "assignment": {"priority": 10, "segment": [], "tier": [], "lifecycle": []},
    "bands": [
        # No tier entered: each band gets its default by position.
        {"label": "At risk", "min": 0, "color": "#7f8c8d", "tier": "at_risk"},
        {"label": "Healthy", "min": 60, "color": "#7f8c8d", "tier": "healthy"},
    ],
    "groups": [{"name": "Outcomes", "weight": 100, "measures": []}],
    "exceptions": [],
}


def test_scorecard_add_without_accounts_is_version_1(admin_client):
    response = add_post(admin_client)
    assert response.status_code == 302
    scorecard = Scorecard.objects.get(name="Enterprise")
    assert scorecard.version == 1
    assert scorecard.versions.get().definition == ADDED_DOCUMENT
    assert not ScorecardDraft.objects.filter(scorecard=scorecard).exists()


def test_scorecard_add_with_accounts_takes_them_only_through_a_draft(admin_client):
    response = add_post(admin_client, segments="Enterprise")

    scorecard = Scorecard.objects.get(name="Enterprise")
    draft = ScorecardDraft.objects.get(scorecard=scorecard)
    assert response.status_code == 302
    assert response["Location"] == reverse("front:draft", args=[draft.pk])
    # Live: version 1 assigned to no account; the segment waits in the draft.
    assert scorecard.version == 1
    assert scorecard.segments == []
    assert scorecard.versions.get().definition == ADDED_DOCUMENT
    assert draft.definition["assignment"]["segment"] == ["Enterprise"]
    assert draft.base_version == 1


def test_scorecard_add_needs_a_band(admin_client):
    url = reverse("admin:scorecards_scorecard_add")
    data = admin_post_data(admin_client.get(url))
    data.update({"name": "Enterprise", "priority": "10", "min_coverage": "0"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert _errors(response) == ["A scorecard needs at least one band; the lowest one starts at 0."]
    assert not Scorecard.objects.filter(name="Enterprise").exists()


# Measures


@pytest.fixture
def nps_url(db) -> str:
    return reverse("admin:scorecards_measure_change", args=[Measure.objects.get(key="nps").pk])


def _measure_errors(response) -> dict[str, list[str]]:
    return {
        field: list(errors) for field, errors in response.context["adminform"].form.errors.items()
    }


def _live_nps() -> tuple:
    nps = Measure.objects.get(key="nps")
    return (nps.name, nps.mapping_type, nps.lo, nps.hi, nps.max_age_days, nps.source)


def _nps_entry(document: dict) -> dict:
    return next(m for g in document["groups"] for m in g["measures"] if m["key"] == "nps")


def test_measure_change_of_mapping_saves_a_draft_and_leaves_the_live_version(
    admin_client, scorecard, nps_url
):
    live_nps = _live_nps()
    data = admin_post_data(admin_client.get(nps_url))
    data["lo"] = "-50"
    response = admin_client.post(nps_url, data)

    draft = ScorecardDraft.objects.get()
    assert response["Location"] == f"/scorecards/drafts/{draft.pk}/"
    assert (draft.scorecard, draft.base_version) == (scorecard, 1)
    assert _nps_entry(draft.definition)["mapping"] == {
        "type": "linear",
        "lo": -50,
        "hi": 100,
        "higher_is_better": True,
    }
    assert draft.note == "Measure “nps” changed in the admin."
    assert _live_nps() == live_nps
    _assert_unchanged(scorecard)


def test_measure_change_of_source_saves_a_draft_and_leaves_the_live_version(
    admin_client, scorecard, nps_url
):
    Metric.objects.create(key="active_users", name="Active users")
    live_nps = _live_nps()
    data = admin_post_data(admin_client.get(nps_url))
    data["source"] = '{"metric": "active_users", "aggregate": "avg", "window_days": 28}'
    assert admin_client.post(nps_url, data).status_code == 302

    draft = ScorecardDraft.objects.get()
    assert _nps_entry(draft.definition)["source"] == {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "change": False,
    }
    assert _live_nps() == live_nps
    _assert_unchanged(scorecard)


def test_measure_change_saves_a_draft_of_each_scorecard_using_it(admin_client, scorecard, nps_url):
    other = ScorecardFactory(name="Enterprise")
    BandFactory(scorecard=other)
    nps = Measure.objects.get(key="nps")
    ScorecardMeasureFactory(group__scorecard=other, measure=nps)
    data = admin_post_data(admin_client.get(nps_url))
    data["name"] = "Net promoter score"
    assert admin_client.post(nps_url, data).status_code == 302

    drafts = list(ScorecardDraft.objects.order_by("scorecard_id"))
    assert [draft.scorecard for draft in drafts] == [scorecard, other]
    assert [_nps_entry(draft.definition)["name"] for draft in drafts] == ["Net promoter score"] * 2
    assert Measure.objects.get(key="nps").name == "NPS"
    assert ScorecardVersion.objects.filter(scorecard=other).count() == 0


def test_measure_change_of_a_measure_no_scorecard_uses_is_saved_at_once(admin_client, db):
    csat = MeasureFactory(key="csat", mapping_type="direct")
    url = reverse("admin:scorecards_measure_change", args=[csat.pk])
    data = admin_post_data(admin_client.get(url))
    data["max_age_days"] = "30"
    assert admin_client.post(url, data).status_code == 302
    csat.refresh_from_db()
    assert csat.max_age_days == 30
    assert ScorecardDraft.objects.count() == 0


def test_measure_change_of_description_saves_it_without_a_draft(admin_client, scorecard, nps_url):
    data = admin_post_data(admin_client.get(nps_url))
    data["description"] = "Net promoter score."
    assert admin_client.post(nps_url, data).status_code == 302
    assert Measure.objects.get(key="nps").description == "Net promoter score."
    assert ScorecardDraft.objects.count() == 0
    _assert_unchanged(scorecard)


def test_measure_change_key_is_read_only(admin_client, nps_url):
    data = admin_post_data(admin_client.get(nps_url))
    data["key"] = "net_promoter"
    assert admin_client.post(nps_url, data).status_code == 302
    assert Measure.objects.filter(key="nps").exists()


def test_measure_change_rejects_linear_without_hi(admin_client, scorecard, nps_url):
    data = admin_post_data(admin_client.get(nps_url))
    data["hi"] = ""
    response = admin_client.post(nps_url, data)
    assert response.status_code == 200
    assert _measure_errors(response) == {
        "hi": ["A linear mapping needs hi: the raw value scored 100."]
    }
    assert Measure.objects.get(key="nps").hi == 100
    assert scorecard.versions.count() == 1


def test_measure_change_rejects_steps_out_of_order(admin_client, nps_url):
    data = admin_post_data(admin_client.get(nps_url))
    data.update({"mapping_type": "steps", "lo": "", "hi": "", "steps": "[[5, 100], [1, 0]]"})
    response = admin_client.post(nps_url, data)
    assert response.status_code == 200
    assert _measure_errors(response) == {
        "steps": ["Step 2: thresholds must be strictly ascending; 1 does not follow 5."]
    }


def test_measure_change_rejects_steps_that_are_not_json(admin_client, nps_url):
    data = admin_post_data(admin_client.get(nps_url))
    data.update({"mapping_type": "steps", "lo": "", "hi": "", "steps": "[[1, 0], [2, 50]"})
    response = admin_client.post(nps_url, data)
    assert response.status_code == 200
    assert _measure_errors(response) == {"steps": ["Enter a valid JSON."]}


def test_measure_add_with_steps(admin_client):
    url = reverse("admin:scorecards_measure_add")
    data = admin_post_data(admin_client.get(url))
    data.update(
        {
            "key": "csat",
            "name": "CSAT",
            "kind": "automated",
            "mapping_type": "steps",
            "steps": "[[1, 0], [3, 50], [5, 100]]",
            "max_age_days": "90",
        }
    )
    assert admin_client.post(url, data).status_code == 302
    measure = Measure.objects.get(key="csat")
    assert measure.steps == [[1, 0], [3, 50], [5, 100]]
    assert (measure.lo, measure.hi) == (None, None)


def test_measure_add_rejects_a_direct_mapping_with_lo(admin_client):
    url = reverse("admin:scorecards_measure_add")
    data = admin_post_data(admin_client.get(url))
    data.update({"key": "csat", "name": "CSAT", "kind": "automated", "mapping_type": "direct"})
    data["lo"] = "0"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert _measure_errors(response) == {"lo": ["A direct mapping takes no lo; clear it."]}
    assert not Measure.objects.filter(key="csat").exists()


def test_measure_changelist_filters_by_mapping_type(admin_client, db):
    MeasureFactory(key="csat", mapping_type="direct")
    url = reverse("admin:scorecards_measure_changelist")
    response = admin_client.get(url, {"mapping_type__exact": "direct"})
    assert [measure.key for measure in response.context["cl"].result_list] == ["csat"]


def _query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_measure_value_changelist_queries_do_not_grow_with_rows(admin_client, db):
    nps = Measure.objects.get(key="nps")
    url = reverse("admin:scorecards_measurevalue_changelist")
    MeasureValueFactory(measure=nps, as_of="2026-10-01", entered_by=UserFactory())
    one_row = _query_count(admin_client, url)
    for day in range(2, 21):
        MeasureValueFactory(measure=nps, as_of=f"2026-10-{day:02d}", entered_by=UserFactory())
    assert _query_count(admin_client, url) == one_row


def test_scorecard_measure_and_band_models_are_edited_inline_only():
    for model in (Band, MeasureGroup, ScorecardMeasure, ExceptionRule):
        assert model not in admin.site._registry


# The version history says who changed what, with a diff; the backtest is one click away


def test_scorecard_version_page_shows_the_diff_from_the_previous_one(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'groups', 'name', 'Outcomes')}-weight"] = "60"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    version = scorecard.versions.get(number=2)
    url = reverse("admin:scorecards_scorecardversion_change", args=[version.pk])
    html = admin_client.get(url).content.decode()
    assert "<caption>From v1</caption>" in html
    assert "<tr><td>weights</td><td>group Outcomes</td><td>50</td><td>60</td></tr>" in html


def test_scorecard_first_version_page_says_there_is_nothing_to_compare(admin_client, scorecard):
    url = reverse("admin:scorecards_scorecardversion_change", args=[scorecard.versions.get().pk])
    assert "The first version: nothing to compare with." in admin_client.get(url).content.decode()


def test_scorecard_version_history_says_who_changed_what(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'groups', 'name', 'Outcomes')}-weight"] = "60"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    html = admin_client.get(change_url).content.decode()
    assert "<td>admin</td><td>group Outcomes: 50 → 60</td>" in html
    assert "<td>first version</td>" in html


def test_scorecard_change_page_links_the_backtest(admin_client, scorecard, change_url):
    html = admin_client.get(change_url).content.decode()
    assert f'href="/scorecards/{scorecard.pk}/backtest/"' in html


def test_scorecard_change_two_bands_may_swap_minimums(
    admin_client, scorecard, change_url, post_data
):
    # Yellow 50 → 75 and Green 75 → 50 in one save: a unique (scorecard, min) pair half-way.
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Yellow')}-min_score"] = "75"
    post_data[f"{row_prefix(post_data, 'bands', 'label', 'Green')}-min_score"] = "50"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert list(scorecard.bands.values_list("label", "min_score")) == [
        ("Red", 0),
        ("Green", 50),
        ("Yellow", 75),
    ]


def test_scorecard_change_two_bands_may_swap_labels(admin_client, scorecard, change_url, post_data):
    yellow = row_prefix(post_data, "bands", "label", "Yellow")
    green = row_prefix(post_data, "bands", "label", "Green")
    post_data[f"{yellow}-label"], post_data[f"{green}-label"] = "Green", "Yellow"
    assert admin_client.post(change_url, post_data).status_code == 302
    publish_admin_draft()  # the admin saved a draft; CS Ops publish it
    assert [band["label"] for band in scorecard.versions.get(number=2).definition["bands"]] == [
        "Red",
        "Green",
        "Yellow",
    ]


def test_scorecard_change_saves_a_draft_and_leaves_the_live_version(
    admin_client, scorecard, change_url, post_data
):
    post_data[f"{row_prefix(post_data, 'groups', 'name', 'Outcomes')}-weight"] = "60"
    response = admin_client.post(change_url, post_data)
    draft = ScorecardDraft.objects.get()
    assert response["Location"] == f"/scorecards/drafts/{draft.pk}/"
    assert (draft.base_version, draft.definition["groups"][0]["weight"]) == (1, 60)
    scorecard.refresh_from_db()
    assert (scorecard.version, scorecard.groups.get(name="Outcomes").weight) == (1, 50)
    assert scorecard.versions.count() == 1


# Every kind of scorecard edit in the admin ends as a draft; the live version stays as it was


def add_row(data: dict, formset_prefix: str, scorecard: Scorecard, **fields) -> None:
    """A new inline row ("Add another"), as the browser posts it."""
    index = int(data[f"{formset_prefix}-TOTAL_FORMS"])
    data[f"{formset_prefix}-TOTAL_FORMS"] = str(index + 1)
    data[f"{formset_prefix}-{index}-id"] = ""
    data[f"{formset_prefix}-{index}-scorecard"] = str(scorecard.pk)
    for name, value in fields.items():
        data[f"{formset_prefix}-{index}-{name}"] = str(value)


def _measure_row(data: dict, key: str) -> str:
    return row_prefix(data, "scorecard_measures", "measure", Measure.objects.get(key=key).pk)


def _group_id(scorecard: Scorecard, name: str) -> int:
    return scorecard.groups.get(name=name).pk


def _measures(document: dict, group: str) -> list[dict]:
    return next(g["measures"] for g in document["groups"] if g["name"] == group)


def _edit_band_label(data, scorecard):
    data[f"{row_prefix(data, 'bands', 'label', 'Yellow')}-label"] = "Amber"


def _edit_band_min(data, scorecard):
    data[f"{row_prefix(data, 'bands', 'label', 'Yellow')}-min_score"] = "55"


def _edit_band_color(data, scorecard):
    data[f"{row_prefix(data, 'bands', 'label', 'Green')}-color"] = "#00ff00"


def _edit_band_tier(data, scorecard):
    data[f"{row_prefix(data, 'bands', 'label', 'Yellow')}-tier"] = "at_risk"


def _edit_band_add(data, scorecard):
    add_row(data, "bands", scorecard, label="Blue", min_score="90", color="#0000ff", tier="")


def _edit_band_delete(data, scorecard):
    data[f"{row_prefix(data, 'bands', 'label', 'Yellow')}-DELETE"] = "on"


def _edit_group_weight(data, scorecard):
    data[f"{row_prefix(data, 'groups', 'name', 'Outcomes')}-weight"] = "60"


def _edit_group_rename(data, scorecard):
    data[f"{row_prefix(data, 'groups', 'name', 'Relationship')}-name"] = "People"


def _edit_group_delete(data, scorecard):
    data[f"{row_prefix(data, 'groups', 'name', 'Relationship')}-DELETE"] = "on"
    for key in ("sponsor_engagement", "sponsor_coverage"):
        data[f"{_measure_row(data, key)}-DELETE"] = "on"


def _edit_measure_weight(data, scorecard):
    data[f"{_measure_row(data, 'nps')}-weight"] = "30"


def _edit_measure_move(data, scorecard):
    row = _measure_row(data, "nps")
    data[f"{row}-group"] = str(_group_id(scorecard, "Relationship"))
    data[f"{row}-position"] = "5"


def _edit_measure_add(data, scorecard):
    csat = MeasureFactory(key="csat", name="CSAT", mapping_type="direct")
    group = _group_id(scorecard, "Experience")
    add_row(data, "scorecard_measures", scorecard, group=group, measure=csat.pk, weight="10")
    data[f"scorecard_measures-{int(data['scorecard_measures-TOTAL_FORMS']) - 1}-position"] = "9"


def _edit_measure_delete(data, scorecard):
    data[f"{_measure_row(data, 'support')}-DELETE"] = "on"


def _edit_exception_value(data, scorecard):
    data[f"{row_prefix(data, 'exceptions', 'action', 'flag')}-value"] = "30"


def _edit_exception_add(data, scorecard):
    nps = Measure.objects.get(key="nps")
    add_row(
        data,
        "exceptions",
        scorecard,
        measure=nps.pk,
        op="<",
        value="10",
        action="flag",
        band="",
        score="",
        reason="Detractors",
    )


def _edit_exception_delete(data, scorecard):
    data[f"{row_prefix(data, 'exceptions', 'action', 'flag')}-DELETE"] = "on"


def _edit_assignment(data, scorecard):
    data.update(
        {"priority": "10", "segments": "Enterprise", "tiers": "Gold", "lifecycles": ["renewing"]}
    )


def _edit_min_coverage(data, scorecard):
    data["min_coverage"] = "0.5"


def _edit_name(data, scorecard):
    data["name"] = "Standard B2B (2027)"


def _expect_band_label(doc):
    doc["bands"][1]["label"] = "Amber"


def _expect_band_min(doc):
    doc["bands"][1]["min"] = 55


def _expect_band_color(doc):
    doc["bands"][2]["color"] = "#00ff00"


def _expect_band_tier(doc):
    doc["bands"][1]["tier"] = "at_risk"


def _expect_band_add(doc):
    # No tier chosen: the default by position, and the highest band is healthy.
    doc["bands"].append({"label": "Blue", "min": 90, "color": "#0000ff", "tier": "healthy"})


def _expect_band_delete(doc):
    del doc["bands"][1]


def _expect_group_weight(doc):
    doc["groups"][0]["weight"] = 60


def _expect_group_rename(doc):
    doc["groups"][2]["name"] = "People"


def _expect_group_delete(doc):
    del doc["groups"][2]


def _expect_measure_weight(doc):
    _measures(doc, "Experience")[1]["weight"] = 30


def _expect_measure_move(doc):
    nps = _measures(doc, "Experience").pop(1)
    _measures(doc, "Relationship").append(nps)


def _expect_measure_add(doc):
    _measures(doc, "Experience").append(
        {
            "key": "csat",
            "name": "CSAT",
            "weight": 10,
            "kind": "automated",
            "mapping": {"type": "direct"},
            "max_age_days": None,
        }
    )


def _expect_measure_delete(doc):
    _measures(doc, "Experience").pop(2)


def _expect_exception_value(doc):
    doc["exceptions"][0]["value"] = 30


def _expect_exception_add(doc):
    doc["exceptions"].append(
        {"measure": "nps", "op": "<", "value": 10, "action": "flag", "reason": "Detractors"}
    )


def _expect_exception_delete(doc):
    doc["exceptions"] = []


def _expect_assignment(doc):
    doc["assignment"] = {
        "priority": 10,
        "segment": ["Enterprise"],
        "tier": ["Gold"],
        "lifecycle": ["renewing"],
    }


def _expect_min_coverage(doc):
    doc["min_coverage"] = 0.5


def _expect_name(doc):
    doc["name"] = "Standard B2B (2027)"


ADMIN_EDITS = {
    "band label": (_edit_band_label, _expect_band_label),
    "band minimum": (_edit_band_min, _expect_band_min),
    "band colour": (_edit_band_color, _expect_band_color),
    "band tier": (_edit_band_tier, _expect_band_tier),
    "band added": (_edit_band_add, _expect_band_add),
    "band deleted": (_edit_band_delete, _expect_band_delete),
    "group weight": (_edit_group_weight, _expect_group_weight),
    "group renamed": (_edit_group_rename, _expect_group_rename),
    "group deleted": (_edit_group_delete, _expect_group_delete),
    "measure weight": (_edit_measure_weight, _expect_measure_weight),
    "measure moved": (_edit_measure_move, _expect_measure_move),
    "measure added": (_edit_measure_add, _expect_measure_add),
    "measure removed": (_edit_measure_delete, _expect_measure_delete),
    "exception value": (_edit_exception_value, _expect_exception_value),
    "exception added": (_edit_exception_add, _expect_exception_add),
    "exception deleted": (_edit_exception_delete, _expect_exception_delete),
    "assignment": (_edit_assignment, _expect_assignment),
    "min coverage": (_edit_min_coverage, _expect_min_coverage),
    "name": (_edit_name, _expect_name),
}


@pytest.mark.parametrize("kind", ADMIN_EDITS)
def test_scorecard_change_of_each_kind_is_a_draft_of_the_live_version(
    admin_client, scorecard, change_url, post_data, kind
):
    edit, expect = ADMIN_EDITS[kind]
    edit(post_data, scorecard)
    response = admin_client.post(change_url, post_data)

    draft = ScorecardDraft.objects.get()
    assert response["Location"] == f"/scorecards/drafts/{draft.pk}/"
    expected = expected_default_document()
    expect(expected)
    assert (draft.scorecard, draft.base_version, draft.definition) == (scorecard, 1, expected)
    _assert_unchanged(scorecard)


def test_scorecard_change_twice_opens_a_draft_each_time_from_the_live_version(
    admin_client, scorecard, change_url, post_data
):
    _edit_group_weight(post_data, scorecard)
    admin_client.post(change_url, post_data)
    data = admin_post_data(admin_client.get(change_url))
    _edit_band_tier(data, scorecard)
    admin_client.post(change_url, data)

    first, second = ScorecardDraft.objects.order_by("pk")
    assert (first.definition["groups"][0]["weight"], first.definition["bands"][1]["tier"]) == (
        60,
        "watch",
    )
    assert (second.definition["groups"][0]["weight"], second.definition["bands"][1]["tier"]) == (
        50,
        "at_risk",
    )
    _assert_unchanged(scorecard)
