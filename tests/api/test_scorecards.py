import copy

import pytest

from scorecards.documents import scorecard_to_document
from scorecards.models import Scorecard
from tests.api.conftest import client_for

DOCUMENT = {
    "name": "Enterprise B2B",
    "is_default": False,
    "min_coverage": 0.5,
    "assignment": {"priority": 10, "segment": ["Enterprise"], "tier": [], "lifecycle": []},
    "bands": [
        {"label": "Red", "min": 0, "color": "#c0392b", "tier": "at_risk"},
        {"label": "Yellow", "min": 50, "color": "#f1c40f", "tier": "watch"},
        {"label": "Green", "min": 75, "color": "#27ae60", "tier": "healthy"},
    ],
    "groups": [
        {
            "name": "Outcomes",
            "weight": 50,
            "measures": [
                {
                    "key": "adoption",
                    "name": "Adoption",
                    "weight": 25,
                    "kind": "automated",
                    "mapping": {"type": "linear", "lo": 0, "hi": 1, "higher_is_better": True},
                    "max_age_days": 45,
                }
            ],
        },
        {
            "name": "Experience",
            "weight": 30,
            "measures": [
                {
                    "key": "csm_sentiment",
                    "name": "CSM sentiment",
                    "weight": 50,
                    "kind": "manual",
                    "mapping": {
                        "type": "steps",
                        "steps": [[1, 0], [2, 25], [3, 50], [4, 75], [5, 100]],
                    },
                    "max_age_days": 60,
                }
            ],
        },
    ],
    "exceptions": [
        {
            "measure": "csm_sentiment",
            "op": "<=",
            "value": 25,
            "action": "cap_band",
            "band": "Red",
            "reason": "Low CSM sentiment",
        }
    ],
}


def test_scorecard_list_shows_documents_to_a_csm(csm_client):
    results = csm_client.get("/api/v1/scorecards/").json()["results"]
    default = Scorecard.objects.get(is_default=True)
    assert results == [{"id": default.pk, "version": 1, **scorecard_to_document(default)}]


def test_scorecard_create_from_a_document_round_trips(ops):
    client = client_for(ops)
    response = client.post("/api/v1/scorecards/", DOCUMENT, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1
    assert {k: v for k, v in body.items() if k not in ("id", "version")} == DOCUMENT
    assert client.get(f"/api/v1/scorecards/{body['id']}/").json() == body


def test_scorecard_bands_without_tiers_get_the_default_tiers(ops):
    document = copy.deepcopy(DOCUMENT)
    document["bands"] = [
        {"label": label, "min": minimum, "color": "#7f8c8d"}
        for label, minimum in (("F", 0), ("D", 40), ("C", 55), ("B", 70), ("A", 85))
    ]
    document["exceptions"] = []
    response = client_for(ops).post("/api/v1/scorecards/", document, format="json")
    assert response.status_code == 201
    assert [(band["label"], band["tier"]) for band in response.json()["bands"]] == [
        ("F", "at_risk"),
        ("D", "watch"),
        ("C", "watch"),
        ("B", "watch"),
        ("A", "healthy"),
    ]


def test_scorecard_band_tier_chosen_is_kept(ops):
    document = copy.deepcopy(DOCUMENT)
    document["bands"][1]["tier"] = "at_risk"
    response = client_for(ops).post("/api/v1/scorecards/", document, format="json")
    assert [band["tier"] for band in response.json()["bands"]] == ["at_risk", "at_risk", "healthy"]


def test_scorecard_band_tier_unknown_is_refused(ops):
    document = copy.deepcopy(DOCUMENT)
    document["bands"][1]["tier"] = "amber"
    response = client_for(ops).post("/api/v1/scorecards/", document, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"bands.1.tier": ['"amber" is not a valid choice.']}
    assert not Scorecard.objects.filter(name="Enterprise B2B").exists()


def test_scorecard_replace_records_a_new_version(ops):
    client = client_for(ops)
    created = client.post("/api/v1/scorecards/", DOCUMENT, format="json").json()
    changed = copy.deepcopy(DOCUMENT)
    changed["groups"][0]["weight"] = 70
    response = client.put(f"/api/v1/scorecards/{created['id']}/", changed, format="json")
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["groups"][0]["weight"]) == (2, 70)


def test_scorecard_rules_are_named_by_document_path(ops):
    broken = copy.deepcopy(DOCUMENT)
    broken["bands"][0]["min"] = 10
    broken["groups"][1]["weight"] = 0
    broken["exceptions"][0]["band"] = "Purple"
    response = client_for(ops).post("/api/v1/scorecards/", broken, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "bands": [
            "The lowest band must start at 0 so that every score has a band: “Red” starts at 10."
        ],
        "groups.1.weight": ["The weight must be positive, not 0."],
        "exceptions.0.band": [
            "“Purple” is not one of this scorecard's bands (“Green”, “Red”, “Yellow”)."
        ],
    }
    assert Scorecard.objects.count() == 1


def test_scorecard_shape_errors_are_named_by_path(ops):
    broken = copy.deepcopy(DOCUMENT)
    broken["groups"][0]["measures"][0]["kind"] = "magic"
    response = client_for(ops).post("/api/v1/scorecards/", broken, format="json")
    assert response.json()["fields"] == {
        "groups.0.measures.0.kind": ['"magic" is not a valid choice.']
    }


# The db mark keeps this test among the database tests: a fixture fetched by name at run time
# is invisible to pytest-django's ordering, which would run it after the transactional tests
# had flushed the roles away.
@pytest.mark.django_db
@pytest.mark.parametrize("role", ["csm", "leader"])
def test_scorecard_write_is_for_cs_ops_only(request, role):
    user = request.getfixturevalue(role)
    response = client_for(user).post("/api/v1/scorecards/", DOCUMENT, format="json")
    assert response.status_code == 403
