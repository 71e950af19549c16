"""Draft scorecard versions: create, edit, preview, publish, discard.

The "Renewals" scorecard (conftest): Outcomes 60 (usage), Experience 40 (pulse), both direct.
The draft used here moves the group weights to Outcomes 90 / Experience 10, so an account's
overall goes from 0.6·usage + 0.4·pulse to 0.9·usage + 0.1·pulse."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from scorecards.models import ScorecardDraft, ScorecardVersion, ScoreSnapshot
from scorecards.services import drafts, scoring
from scorecards.services.versions import scorecard_version_create
from tests.accounts.factories import AccountFactory
from tests.scorecards.factories import MeasureValueFactory

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def scorecard(renewals_scorecard):
    scorecard_version_create(scorecard=renewals_scorecard, user=None)  # version 1
    return renewals_scorecard


@pytest.fixture
def portfolio(scorecard):
    """A: usage 100, pulse 0 (60 → 90); B: usage 0, pulse 100 (40 → 10); C: 80, 80 (80 → 80);
    D: no values (not scored); E: Mid-Market, scored by the default scorecard, not by this."""

    def account(name, arr, segment="Enterprise", **raw_by_key):
        account = AccountFactory(name=name, segment=segment, arr=Decimal(arr))
        for key, raw in raw_by_key.items():
            MeasureValueFactory(
                account=account,
                measure=scorecard.measures[key],
                raw_value=raw,
                score=Decimal(raw),
                as_of=AS_OF,
            )
        return account

    return {
        "A": account("A", 100_000, usage=100, pulse=0),
        "B": account("B", 20_000, usage=0, pulse=100),
        "C": account("C", 30_000, usage=80, pulse=80),
        "D": account("D", 40_000),
        "E": account("E", 1_000, segment="Mid-Market", usage=5, pulse=5),
    }


def _draft(scorecard, **kwargs):
    return drafts.scorecard_draft_create(
        scorecard=scorecard,
        measure_weights={},
        group_weights={"Outcomes": 90, "Experience": 10},
        **kwargs,
    )


def _bands_on(day):
    return dict(ScoreSnapshot.objects.filter(as_of=day).values_list("account__name", "band"))


# Create and edit


def test_scorecard_draft_create_keeps_the_weights_and_the_base_version(scorecard):
    draft = _draft(scorecard, note="More weight on outcomes")
    assert draft.base_version == 1
    assert draft.status == ScorecardDraft.Status.DRAFT
    assert drafts.draft_weights(draft.definition) == (
        {"Outcomes": 90.0, "Experience": 10.0},
        {"usage": 1.0, "pulse": 1.0},
    )


def test_scorecard_draft_create_stores_weights_with_two_decimals(scorecard):
    draft = drafts.scorecard_draft_create(scorecard=scorecard, measure_weights={"usage": 2.345})
    assert drafts.draft_weights(draft.definition)[1]["usage"] == 2.35


def test_scorecard_draft_create_rejects_bad_weights(scorecard):
    with pytest.raises(ValidationError) as error:
        drafts.scorecard_draft_create(
            scorecard=scorecard,
            measure_weights={"usage": 0, "pulse": "lots", "nope": 1},
            group_weights={"Outcomes": -1},
        )
    assert error.value.message_dict == {
        "group_weights.Outcomes": ["The weight must be positive, not -1."],
        "measure_weights.nope": ["“nope” is not a measure of this scorecard."],
        "measure_weights.pulse": ["The weight must be a number, not 'lots'."],
        "measure_weights.usage": ["The weight must be positive, not 0."],
    }
    assert not ScorecardDraft.objects.exists()


def test_scorecard_draft_update_changes_only_the_given_weights(scorecard):
    draft = drafts.scorecard_draft_create_from_report(
        scorecard=scorecard,
        report={
            "n_outcomes": 40,
            "horizon_days": 90,
            "current": {"auc_holdout": 0.61},
            "suggested": {
                "auc_holdout": 0.74,
                "weights": {"usage": 80, "pulse": 20},
                "group_weights": {"Outcomes": 80, "Experience": 20},
            },
        },
    )
    assert draft.note == (
        "Suggested from 40 renewal outcomes, 90 days ahead: held-out AUC 0.61 now, 0.74 suggested."
    )
    draft = drafts.scorecard_draft_update(draft=draft, group_weights={"Experience": 25})
    assert drafts.draft_weights(draft.definition)[0] == {"Outcomes": 80.0, "Experience": 25.0}
    assert draft.source == ScorecardDraft.Source.MANUAL
    assert draft.report["suggested"]["auc_holdout"] == 0.74


# Preview


def test_scorecard_draft_preview_band_matrix(portfolio, scorecard):
    preview = drafts.scorecard_draft_preview(draft=_draft(scorecard), as_of=AS_OF)
    cells = {(c["from"], c["to"]): (c["accounts"], c["arr"]) for c in preview["matrix"]}
    # A Yellow (60) → Green (90); B Red → Red; C Green → Green; D not scored; E elsewhere.
    assert {pair: cell for pair, cell in cells.items() if cell[0]} == {
        ("Yellow", "Green"): (1, 100_000.0),
        ("Red", "Red"): (1, 20_000.0),
        ("Green", "Green"): (1, 30_000.0),
        ("Not scored", "Not scored"): (1, 40_000.0),
    }
    assert len(cells) == 16  # every pair of Not scored, Red, Yellow, Green
    assert preview["bands"] == ["Not scored", "Red", "Yellow", "Green"]
    assert (preview["accounts"], preview["arr"]) == (4, 190_000.0)
    assert sum(c["accounts"] for c in preview["matrix"]) == preview["accounts"]
    assert preview["changed_band"] == {"accounts": 1, "arr": 100_000.0, "up": 1, "down": 0}


def test_scorecard_draft_preview_movers_with_the_measures_that_moved_them(portfolio, scorecard):
    preview = drafts.scorecard_draft_preview(draft=_draft(scorecard), as_of=AS_OF)
    # A: 60 → 90 (+30: usage 0.6·100 → 0.9·100); B: 40 → 10 (−30: pulse 0.4·100 → 0.1·100).
    # Equal moves: the lower account id first. C does not move.
    assert [(m["name"], m["change"]) for m in preview["movers"]] == [("A", 30.0), ("B", -30.0)]
    assert preview["movers"][0]["current"] == {"overall": 60.0, "band": "Yellow"}
    assert preview["movers"][0]["draft"] == {"overall": 90.0, "band": "Green"}
    assert preview["movers"][1]["measures"] == [
        {"key": "pulse", "current": 40.0, "draft": 10.0, "change": -30.0}
    ]


def test_scorecard_draft_preview_writes_nothing(portfolio, scorecard):
    drafts.scorecard_draft_preview(draft=_draft(scorecard), as_of=AS_OF)
    assert not ScoreSnapshot.objects.exists()
    assert scorecard.versions.count() == 1


def test_scorecard_draft_preview_backtests_current_and_draft(portfolio, scorecard):
    from tests.learning.conftest import add_outcome

    add_outcome(scorecard, outcome="churned", usage=20, pulse=90)  # 48 now, 27 in the draft
    add_outcome(scorecard, outcome="renewed", usage=60, pulse=10)  # 40 now, 55 in the draft
    preview = drafts.scorecard_draft_preview(draft=_draft(scorecard), as_of=AS_OF)
    assert preview["backtest"]["n_outcomes"] == 2
    assert (preview["backtest"]["current"]["auc"], preview["backtest"]["draft"]["auc"]) == (
        0.0,
        1.0,
    )


def test_scorecard_draft_preview_matches_a_recompute_after_publishing(portfolio, scorecard):
    run = scoring.score_run_create(as_of=AS_OF)
    scoring.score_run_execute_inline(run=run)
    draft = _draft(scorecard)
    preview = drafts.scorecard_draft_preview(draft=draft, as_of=AS_OF)
    drafts.scorecard_draft_publish(draft=draft, user=None)
    next_day = AS_OF + dt.timedelta(days=1)
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=next_day))
    before, after = _bands_on(AS_OF), _bands_on(next_day)
    recomputed = Counter((before[name], after[name]) for name in "ABCD")
    previewed = Counter({(c["from"], c["to"]): c["accounts"] for c in preview["matrix"]})
    assert +recomputed == +previewed


# Publish and discard


def test_scorecard_draft_publish_creates_a_version_and_applies_the_weights(scorecard):
    draft = _draft(scorecard, note="Outcomes first")
    version = drafts.scorecard_draft_publish(draft=draft, user=None)
    scorecard.refresh_from_db()
    assert (version.number, scorecard.version) == (2, 2)
    assert version.note == f"Published draft {draft.pk}: Outcomes first"
    assert dict(scorecard.groups.values_list("name", "weight")) == {
        "Outcomes": Decimal("90.00"),
        "Experience": Decimal("10.00"),
    }
    draft.refresh_from_db()
    assert (draft.status, draft.published_version) == (ScorecardDraft.Status.PUBLISHED, version)


def test_scorecard_draft_publish_old_snapshots_keep_their_version(portfolio, scorecard):
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=AS_OF))
    drafts.scorecard_draft_publish(draft=_draft(scorecard), user=None)
    next_day = AS_OF + dt.timedelta(days=1)
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=next_day))
    versions = ScoreSnapshot.objects.filter(scorecard=scorecard).values_list(
        "as_of", "scorecard_version"
    )
    assert Counter(versions) == {(AS_OF, 1): 4, (next_day, 2): 4}


def test_scorecard_draft_never_affects_scores_until_published(portfolio, scorecard):
    _draft(scorecard)
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=AS_OF))
    # Current weights: A 60 Yellow, B 40 Red, C 80 Green.
    assert _bands_on(AS_OF) == {
        "A": "Yellow",
        "B": "Red",
        "C": "Green",
        "D": "Not scored",
        "E": "Not scored",
    }


def test_scorecard_draft_publish_refuses_a_draft_of_an_older_version(scorecard):
    draft = _draft(scorecard)
    scorecard.groups.filter(name="Outcomes").update(weight=55)
    scorecard_version_create(scorecard=scorecard, user=None)  # version 2, from the admin
    with pytest.raises(ValidationError, match=r"changed since this draft was made \(version 1"):
        drafts.scorecard_draft_publish(draft=draft, user=None)
    assert scorecard.versions.count() == 2


def test_scorecard_draft_publish_refuses_unchanged_weights(scorecard):
    draft = drafts.scorecard_draft_create(scorecard=scorecard, measure_weights={"usage": 1})
    with pytest.raises(ValidationError, match="those of version 1"):
        drafts.scorecard_draft_publish(draft=draft, user=None)
    assert ScorecardVersion.objects.filter(scorecard=scorecard).count() == 1


def test_scorecard_draft_publish_twice_is_refused(scorecard):
    draft = _draft(scorecard)
    drafts.scorecard_draft_publish(draft=draft, user=None)
    with pytest.raises(ValidationError, match="was published already"):
        drafts.scorecard_draft_publish(draft=draft, user=None)


def test_scorecard_draft_discard_leaves_no_trace(portfolio, scorecard):
    draft = _draft(scorecard)
    drafts.scorecard_draft_discard(draft=draft)
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=AS_OF))
    assert not ScorecardDraft.objects.exists()
    assert scorecard.versions.count() == 1
    assert _bands_on(AS_OF)["A"] == "Yellow"


def test_scorecard_draft_preview_says_when_the_draft_is_outdated(portfolio, scorecard):
    draft = _draft(scorecard)
    before = drafts.scorecard_draft_preview(draft=draft, as_of=AS_OF, with_backtest=False)
    assert before["is_current"] is True
    scorecard.groups.filter(name="Outcomes").update(weight=55)
    scorecard_version_create(scorecard=scorecard, user=None)
    draft.scorecard.refresh_from_db()
    preview = drafts.scorecard_draft_preview(draft=draft, as_of=AS_OF, with_backtest=False)
    assert (preview["base_version"], preview["is_current"], preview["backtest"]) == (1, False, None)
