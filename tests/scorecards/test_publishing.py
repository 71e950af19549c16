"""Edits made in the admin become drafts (PRODUCT.md "Changing a scorecard safely"): the
services the admin calls, on their own."""

import pytest

from metrics.models import Metric
from scorecards.documents import scorecard_to_document
from scorecards.models import Measure, Scorecard, ScorecardDraft
from scorecards.services import ingestion
from scorecards.services.publishing import measure_edit_as_drafts, scorecard_edit_as_draft

pytestmark = pytest.mark.django_db

SOURCE = {"metric": "active_users", "aggregate": "avg", "window_days": 28, "change": False}


@pytest.fixture
def scorecard() -> Scorecard:
    return Scorecard.objects.get(is_default=True)


def _entry(document: dict, key: str) -> dict:
    return next(m for g in document["groups"] for m in g["measures"] if m["key"] == key)


@pytest.fixture
def derived_nps(scorecard) -> Measure:
    """nps derived from active users, published."""
    Metric.objects.create(key="active_users", name="Active users")
    document = scorecard_to_document(scorecard)
    _entry(document, "nps")["source"] = SOURCE
    ingestion.scorecard_document_save(document=document, user=None, scorecard=scorecard)
    return Measure.objects.get(key="nps")


def test_measure_edit_as_drafts_of_a_source_removed_drafts_a_pushed_measure(scorecard, derived_nps):
    derived_nps.source = None
    [draft] = measure_edit_as_drafts(measure=derived_nps, user=None)
    assert "source" not in _entry(draft.definition, "nps")
    assert Measure.objects.get(key="nps").source == SOURCE
    assert _entry(scorecard_to_document(scorecard), "nps")["source"] == SOURCE


def test_measure_edit_as_drafts_of_the_description_opens_none(scorecard):
    nps = Measure.objects.get(key="nps")
    nps.description = "Net promoter score."
    assert measure_edit_as_drafts(measure=nps, user=None) == []
    assert Measure.objects.get(key="nps").description == "Net promoter score."


def test_scorecard_edit_as_draft_puts_the_live_rows_back(scorecard):
    live = scorecard_to_document(scorecard)
    scorecard.bands.filter(label="Yellow").update(tier="at_risk")
    draft = scorecard_edit_as_draft(scorecard=scorecard, live=live, user=None, note="Amber")
    assert (draft.definition["bands"][1]["tier"], draft.note) == ("at_risk", "Amber")
    assert scorecard.bands.get(label="Yellow").tier == "watch"
    assert scorecard_to_document(scorecard) == live


def test_scorecard_edit_as_draft_of_nothing_opens_none(scorecard):
    live = scorecard_to_document(scorecard)
    assert scorecard_edit_as_draft(scorecard=scorecard, live=live, user=None) is None
    assert ScorecardDraft.objects.count() == 0
