import copy
import importlib
from decimal import Decimal

import pytest

from scorecards.documents import scorecard_document_normalize, scorecard_to_document
from scorecards.models import Measure, Scorecard, ScorecardVersion
from scorecards.services.versions import (
    scorecard_version_create,
    scorecard_versions_create_for_measure,
)
from tests.accounts.factories import UserFactory
from tests.scorecards.factories import (
    BandFactory,
    ExceptionRuleFactory,
    MeasureFactory,
    MeasureGroupFactory,
    ScorecardFactory,
    ScorecardMeasureFactory,
)

DEFAULT_SCORECARD = importlib.import_module(
    "scorecards.migrations.0002_default_scorecard"
).DEFAULT_SCORECARD


def _without_descriptions(document: dict) -> dict:
    """The migration's document as the product keeps it: without the measures' descriptions,
    and with each band's default tier (lowest at_risk, highest healthy, the rest watch)."""
    document = copy.deepcopy(document)
    for group in document["groups"]:
        for measure in group["measures"]:
            del measure["description"]
    for band, tier in zip(document["bands"], ["at_risk", "watch", "healthy"], strict=True):
        band.setdefault("tier", tier)
    return document


@pytest.fixture
def scorecard(db) -> Scorecard:
    return Scorecard.objects.get(is_default=True)


# scorecard_to_document


def test_scorecard_to_document_of_the_default_scorecard_is_the_migrations_document(scorecard):
    assert scorecard_to_document(scorecard) == _without_descriptions(DEFAULT_SCORECARD)


def test_scorecard_to_document_numbers_are_json_numbers(scorecard):
    document = scorecard_to_document(scorecard)
    engagement = document["groups"][0]["measures"][1]
    assert type(document["min_coverage"]) is float
    assert type(document["bands"][1]["min"]) is int
    assert type(document["groups"][0]["weight"]) is int
    assert type(engagement["weight"]) is int
    assert engagement["mapping"] == {"type": "linear", "lo": 0, "hi": 0.8, "higher_is_better": True}
    assert type(engagement["mapping"]["hi"]) is float
    assert type(document["exceptions"][0]["value"]) is int


def test_scorecard_to_document_keeps_fractions(db):
    scorecard = ScorecardFactory(name="Fractions", min_coverage=Decimal("0.75"))
    BandFactory(scorecard=scorecard, label="Low", min_score=Decimal("0"))
    BandFactory(scorecard=scorecard, label="High", min_score=Decimal("62.5"))
    member = ScorecardMeasureFactory(
        group__scorecard=scorecard, group__name="Only", group__weight=Decimal("12.25")
    )
    document = scorecard_to_document(scorecard)
    assert document["min_coverage"] == 0.75
    assert document["bands"][1] == {
        "label": "High",
        "min": 62.5,
        "color": "#7f8c8d",
        "tier": "watch",  # the factory's tier
    }
    assert document["groups"] == [
        {
            "name": "Only",
            "weight": 12.25,
            "measures": [
                {
                    "key": member.measure.key,
                    "name": member.measure.name,
                    "weight": 10,
                    "kind": "automated",
                    "mapping": {"type": "direct"},
                    "max_age_days": None,
                }
            ],
        }
    ]


def test_scorecard_to_document_exceptions_carry_band_or_score_by_action(db):
    scorecard = ScorecardFactory(name="Exceptions")
    measure = MeasureFactory(key="sentiment")
    ExceptionRuleFactory(scorecard=scorecard, measure=measure, action="cap_band", band="Red")
    ExceptionRuleFactory(
        scorecard=scorecard,
        measure=measure,
        op="<",
        value=Decimal("10"),
        action="override",
        score=Decimal("5.5"),
        reason="Very low",
    )
    assert scorecard_to_document(scorecard)["exceptions"] == [
        {
            "measure": "sentiment",
            "op": "<=",
            "value": 25,
            "action": "cap_band",
            "band": "Red",
            "reason": "Low score",
        },
        {
            "measure": "sentiment",
            "op": "<",
            "value": 10,
            "action": "override",
            "score": 5.5,
            "reason": "Very low",
        },
    ]


def test_scorecard_to_document_orders_groups_and_measures_by_position(db):
    scorecard = ScorecardFactory(name="Ordered")
    second = MeasureGroupFactory(scorecard=scorecard, name="Second", position=2)
    first = MeasureGroupFactory(scorecard=scorecard, name="First", position=1)
    ScorecardMeasureFactory(group=first, measure__key="b", position=2)
    ScorecardMeasureFactory(group=first, measure__key="a", position=1)
    ScorecardMeasureFactory(group=second, measure__key="c", position=0)
    document = scorecard_to_document(scorecard)
    assert [
        (group["name"], [measure["key"] for measure in group["measures"]])
        for group in document["groups"]
    ] == [("First", ["a", "b"]), ("Second", ["c"])]


def test_scorecard_document_normalize_drops_fields_outside_the_contract():
    assert scorecard_document_normalize(DEFAULT_SCORECARD) == _without_descriptions(
        DEFAULT_SCORECARD
    )


# scorecard_version_create


def test_scorecard_version_create_unchanged_creates_nothing(scorecard):
    assert scorecard_version_create(scorecard=scorecard, user=None) is None
    scorecard.refresh_from_db()
    assert scorecard.version == 1
    assert scorecard.versions.count() == 1


def test_scorecard_version_create_after_a_change_stores_the_next_version(scorecard):
    cs_ops = UserFactory(role="CS Ops")
    group = scorecard.groups.get(name="Relationship")
    group.weight = Decimal("25")
    group.save()

    version = scorecard_version_create(scorecard=scorecard, user=cs_ops, note="More relationship.")

    expected = _without_descriptions(DEFAULT_SCORECARD)
    expected["groups"][2]["weight"] = 25
    assert version == ScorecardVersion.objects.get(scorecard=scorecard, number=2)
    assert version.definition == expected
    assert (version.created_by, version.note) == (cs_ops, "More relationship.")
    assert scorecard.version == 2
    scorecard.refresh_from_db()
    assert scorecard.version == 2


def test_scorecard_version_create_twice_after_one_change_stores_one_version(scorecard):
    scorecard.min_coverage = Decimal("0.5")
    scorecard.save()
    scorecard_version_create(scorecard=scorecard, user=None)
    assert scorecard_version_create(scorecard=scorecard, user=None) is None
    assert list(scorecard.versions.values_list("number", flat=True)) == [2, 1]


def test_scorecard_version_create_numbers_successive_changes(scorecard):
    for priority in (10, 20):
        scorecard.priority = priority
        scorecard.save()
        scorecard_version_create(scorecard=scorecard, user=None)
    scorecard.refresh_from_db()
    assert scorecard.version == 3
    assert scorecard.versions.get(number=3).definition["assignment"]["priority"] == 20
    assert scorecard.versions.get(number=2).definition["assignment"]["priority"] == 10


def test_scorecard_version_create_keeps_older_versions_unchanged(scorecard):
    scorecard.name = "Standard"
    scorecard.save()
    scorecard_version_create(scorecard=scorecard, user=None)
    assert scorecard.versions.get(number=1).definition == DEFAULT_SCORECARD


def test_scorecard_version_create_for_a_new_scorecard_is_version_1(db):
    scorecard = ScorecardFactory(name="New")
    BandFactory(scorecard=scorecard)
    version = scorecard_version_create(scorecard=scorecard, user=None)
    assert version.number == 1
    assert version.definition == {
        "name": "New",
        "is_default": False,
        "min_coverage": 0.0,
        "assignment": {"priority": 10, "segment": [], "tier": [], "lifecycle": []},
        "bands": [
            {"label": "Red", "min": 0, "color": "#7f8c8d", "tier": "watch"}
        ],  # one band: watch
        "groups": [],
        "exceptions": [],
    }
    scorecard.refresh_from_db()
    assert scorecard.version == 1


def test_scorecard_version_create_ignores_an_anonymous_user(scorecard):
    from django.contrib.auth.models import AnonymousUser

    scorecard.priority = 5
    scorecard.save()
    version = scorecard_version_create(scorecard=scorecard, user=AnonymousUser())
    assert version.created_by is None


# scorecard_versions_create_for_measure


def test_scorecard_versions_create_for_measure_versions_each_scorecard_using_it(scorecard):
    nps = Measure.objects.get(key="nps")
    other = ScorecardMeasureFactory(measure=nps, group__scorecard__name="Enterprise").scorecard
    ScorecardFactory(name="Unrelated")
    nps.max_age_days = 90
    nps.save()

    versions = scorecard_versions_create_for_measure(measure=nps, user=None)

    assert [(version.scorecard.name, version.number) for version in versions] == [
        ("Standard B2B", 2),
        ("Enterprise", 1),
    ]
    assert versions[0].note == "Measure “nps” changed."
    assert versions[0].definition["groups"][1]["measures"][1]["max_age_days"] == 90
    assert other.versions.count() == 1
    assert Scorecard.objects.get(name="Unrelated").versions.count() == 0


def test_scorecard_versions_create_for_measure_unchanged_creates_nothing(scorecard):
    nps = Measure.objects.get(key="nps")
    nps.description = "Not part of the document."
    nps.save()
    assert scorecard_versions_create_for_measure(measure=nps, user=None) == []
    assert scorecard.versions.count() == 1
