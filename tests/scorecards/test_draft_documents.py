"""The draft editor's fields applied to a draft's document, by position."""

import copy

from scorecards.services.draft_documents import draft_document_edit

DOCUMENT = {
    "bands": [{"label": "Red", "min": 0, "tier": "at_risk"}, {"label": "Green", "min": 75}],
    "groups": [
        {
            "name": "Usage",
            "weight": 50,
            "measures": [
                {"key": "logins", "weight": 10, "source": {"metric": "logins"}},
                {"key": "nps", "weight": 20},
            ],
        }
    ],
}


def test_draft_document_edit_applies_each_field_where_it_points():
    before = copy.deepcopy(DOCUMENT)
    edited = draft_document_edit(
        DOCUMENT,
        weights={(0,): 60, (0, 1): "x"},
        band_tiers={0: "", 1: "healthy"},
        sources={(0, 0): None, (0, 1): {"metric": "active_users"}},
    )
    assert edited == {
        "bands": [{"label": "Red", "min": 0}, {"label": "Green", "min": 75, "tier": "healthy"}],
        "groups": [
            {
                "name": "Usage",
                "weight": 60,
                "measures": [
                    {"key": "logins", "weight": 10},
                    {"key": "nps", "weight": "x", "source": {"metric": "active_users"}},
                ],
            }
        ],
    }
    assert before == DOCUMENT  # a copy was edited


def test_draft_document_edit_skips_positions_the_document_does_not_have():
    before = copy.deepcopy(DOCUMENT)
    edited = draft_document_edit(
        DOCUMENT,
        weights={(3,): 1, (0, 5): 1},
        band_tiers={2: "watch"},
        sources={(1, 0): None, (0, 2): {"metric": "x"}},
    )
    assert edited == DOCUMENT == before


def test_draft_document_edit_of_a_broken_document_changes_nothing():
    assert draft_document_edit({"groups": "none", "bands": None}, band_tiers={0: "watch"}) == {
        "groups": "none",
        "bands": None,
    }
