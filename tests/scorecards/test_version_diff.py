"""version_diff: what changed between two scorecard documents, section by section."""

import copy

from scorecards.version_diff import Change, version_diff

DOCUMENT = {
    "name": "Standard B2B",
    "is_default": True,
    "min_coverage": 0.0,
    "assignment": {"priority": 10, "segment": ["Enterprise"], "tier": [], "lifecycle": []},
    "bands": [
        {"label": "Red", "min": 0, "color": "#c0392b"},
        {"label": "Yellow", "min": 50, "color": "#f1c40f"},
        {"label": "Green", "min": 75, "color": "#27ae60"},
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
                    "mapping": {"type": "steps", "steps": [[1, 0], [5, 100]]},
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


def edited():
    return copy.deepcopy(DOCUMENT)


def test_version_diff_of_a_first_version_is_empty():
    assert version_diff(None, DOCUMENT) == []


def test_version_diff_of_the_same_document_is_empty():
    assert version_diff(DOCUMENT, edited()) == []


def test_version_diff_lists_changed_weights():
    after = edited()
    after["groups"][0]["weight"] = 60
    after["groups"][1]["measures"][0]["weight"] = 12.5
    assert version_diff(DOCUMENT, after) == [
        Change("weights", "group Outcomes", "50", "60"),
        Change("weights", "measure csm_sentiment", "50", "12.5"),
    ]


def test_version_diff_whole_floats_equal_ints():
    after = edited()
    after["groups"][0]["weight"] = 50.0
    assert version_diff(DOCUMENT, after) == []


def test_version_diff_lists_a_changed_mapping_and_max_age():
    after = edited()
    after["groups"][0]["measures"][0]["mapping"]["hi"] = 0.8
    after["groups"][0]["measures"][0]["max_age_days"] = 30
    assert version_diff(DOCUMENT, after) == [
        Change(
            "mappings",
            "measure adoption mapping",
            '{"hi": 1, "higher_is_better": true, "lo": 0, "type": "linear"}',
            '{"hi": 0.8, "higher_is_better": true, "lo": 0, "type": "linear"}',
        ),
        Change("mappings", "measure adoption max age days", "45", "30"),
    ]


def test_version_diff_lists_an_added_group_and_measure():
    after = edited()
    after["groups"].append(
        {
            "name": "Relationship",
            "weight": 20,
            "measures": [{**DOCUMENT["groups"][0]["measures"][0], "key": "nps", "weight": 5}],
        }
    )
    assert version_diff(DOCUMENT, after) == [
        Change("weights", "group Relationship", None, "20"),
        Change("weights", "measure nps", None, "5"),
        Change("measures", "measure nps in group", None, "Relationship"),
    ]


def test_version_diff_lists_a_removed_measure():
    after = edited()
    after["groups"][1]["measures"] = []
    assert version_diff(DOCUMENT, after) == [
        Change("weights", "measure csm_sentiment", "50", None),
        Change("measures", "measure csm_sentiment in group", "Experience", None),
    ]


def test_version_diff_lists_band_changes():
    after = edited()
    after["bands"][1]["min"] = 55
    after["bands"][2]["color"] = "#00ff00"
    after["bands"].append({"label": "Blue", "min": 90, "color": "#0000ff"})
    assert version_diff(DOCUMENT, after) == [
        Change("bands", "band Yellow minimum", "50", "55"),
        Change("bands", "band Green colour", "#27ae60", "#00ff00"),
        Change("bands", "band Blue", None, "90"),
    ]


def test_version_diff_shows_an_edited_exception_as_removed_and_added():
    after = edited()
    after["exceptions"][0]["value"] = 30
    assert version_diff(DOCUMENT, after) == [
        Change(
            "exceptions",
            "exception rule",
            "csm_sentiment <= 25: cap_band Red (Low CSM sentiment)",
            None,
        ),
        Change(
            "exceptions",
            "exception rule",
            None,
            "csm_sentiment <= 30: cap_band Red (Low CSM sentiment)",
        ),
    ]


def test_version_diff_lists_settings_and_assignment():
    after = edited()
    after["min_coverage"] = 0.5
    after["assignment"]["tier"] = ["Gold"]
    assert version_diff(DOCUMENT, after) == [
        Change("settings", "minimum coverage", "0", "0.5"),
        Change("settings", "assignment tier", "[]", '["Gold"]'),
    ]


def test_change_reads_as_one_line():
    assert str(Change("weights", "group Outcomes", "50", None)) == "group Outcomes: 50 → —"
