"""Reads behind the score endpoints: an account's score in the shape of PRODUCT.md ("API
shapes"), its history and what changed (rule 11). Snapshots are read as stored; nothing here
scores anything."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from django.http import Http404

from accounts.models import Account
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards import engine
from scorecards.learning.likelihood import renewal_likelihood_for
from scorecards.models import CurrentScore, ScoreSnapshot

TREND_WINDOWS = (7, 30, 90)
HISTORY_DAYS = 90
CHANGES_DAYS = 30


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def account_snapshot(*, account: Account, as_of: date | None) -> ScoreSnapshot:
    """The snapshot of `as_of`, or the account's current one (the latest of a finished run)
    when no date is given; 404 when there is none."""
    snapshots = ScoreSnapshot.objects.select_related("scorecard")
    if as_of is None:
        current = CurrentScore.objects.filter(account=account).values_list("snapshot_id", flat=True)
        snapshot = snapshots.filter(pk__in=current).first()
    else:
        snapshot = snapshots.filter(account=account, as_of=as_of).first()
    if snapshot is None:
        on = f" on {as_of.isoformat()}" if as_of else ""
        raise Http404(f"{account.external_id} has no score{on}.")
    return snapshot


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def account_score_document(*, account: Account, as_of: date | None) -> dict[str, Any]:
    """The score document of `as_of` (the current score when None); 404 when not scored.
    Cached until a score, an account or a scorecard changes: polling integrations ask for
    the same scores all day."""
    return score_document(account=account, snapshot=account_snapshot(account=account, as_of=as_of))


def score_document(*, account: Account, snapshot: ScoreSnapshot) -> dict[str, Any]:
    """The score of PRODUCT.md: account (its external_id), date, scorecard (its name),
    overall, band, coverage, trend, groups, measures, exceptions, biggest_lever, and
    renewal_likelihood (the calibrated probability of renewal of the overall score, None when
    not scored or with too few renewal outcomes)."""
    return {
        "account": account.external_id,
        "date": snapshot.as_of.isoformat(),
        "scorecard": snapshot.scorecard.name,
        "overall": _number(snapshot.overall),
        "band": snapshot.band,
        "coverage": float(snapshot.coverage),
        "trend": {str(days): _number(getattr(snapshot, f"trend_{days}")) for days in TREND_WINDOWS},
        "groups": [
            {"name": group["name"], "weight": group["weight"], "score": group["score"]}
            for group in snapshot.groups
        ],
        "measures": [
            {
                "key": row["key"],
                "raw_value": row["raw_value"],
                "score": row["score"],
                "as_of": row["as_of"],
                "stale": bool(row["stale"]),
                "effective_weight": row["effective_weight"],
                "contribution": row["contribution"],
            }
            for row in snapshot.measure_rows
        ],
        "exceptions": [
            {"reason": exception["reason"], "action": exception["action"]}
            for exception in snapshot.exceptions
        ],
        "biggest_lever": snapshot.biggest_lever,
        "renewal_likelihood": renewal_likelihood_for(
            scorecard=snapshot.scorecard, overall=_number(snapshot.overall)
        ),
    }


def score_history(*, account: Account, first: date | None, last: date | None) -> dict[str, Any]:
    """The account's snapshots from `first` to `last` (both included), oldest first. `last`
    defaults to the latest snapshot's date (today when there is none), `first` to 90 days
    before `last`."""
    snapshots = ScoreSnapshot.objects.filter(account=account)
    if last is None:
        latest = snapshots.order_by("-as_of").values_list("as_of", flat=True).first()
        last = latest or date.today()
    first = first or last - timedelta(days=HISTORY_DAYS)
    rows = (
        snapshots.filter(as_of__range=(first, last))
        .order_by("as_of")
        .values_list("as_of", "overall", "band", "coverage", "scorecard__name")
    )
    return {
        "account": account.external_id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "scores": [
            {
                "date": as_of.isoformat(),
                "overall": _number(overall),
                "band": band,
                "coverage": float(coverage),
                "scorecard": scorecard,
            }
            for as_of, overall, band, coverage, scorecard in rows
        ],
    }


class NotScored(Exception):
    """One side of a comparison was not scored: there is no change to explain."""


def score_changes_document(
    *, account: Account, since: date | None, as_of: date | None
) -> dict[str, Any]:
    """Rule 11: per measure, contribution on B minus contribution on A, largest first.

    B is the snapshot of `as_of` (default: the current one); A the latest snapshot on or
    before `since` (default: 30 days before B). The changes add up exactly to
    score_to − score_from, where a score is the weighted score the contributions add up to
    (the overall score unless an `override` exception replaced it). Raises Http404 when a
    side has no snapshot and NotScored when a side was not scored.
    """
    later = account_snapshot(account=account, as_of=as_of)
    since = since or later.as_of - timedelta(days=CHANGES_DAYS)
    earlier = (
        ScoreSnapshot.objects.filter(account=account, as_of__lte=since).order_by("-as_of").first()
    )
    if earlier is None:
        raise Http404(f"{account.external_id} has no score on or before {since.isoformat()}.")
    for snapshot in (earlier, later):
        if snapshot.computed is None:
            raise NotScored(f"{account.external_id} was not scored on {snapshot.as_of}.")
    changes = engine.score_changes(_contributions(earlier), _contributions(later))
    return {
        "account": account.external_id,
        "from": earlier.as_of.isoformat(),
        "to": later.as_of.isoformat(),
        "score_from": float(earlier.computed),
        "score_to": float(later.computed),
        "change": float(later.computed - earlier.computed),
        "measures": [
            {
                "measure": row.measure_key,
                "contribution_from": None if pd.isna(row.contribution_a) else row.contribution_a,
                "contribution_to": None if pd.isna(row.contribution_b) else row.contribution_b,
                "change": row.change,
            }
            for row in changes.itertuples(index=False)
        ],
    }


def _contributions(snapshot: ScoreSnapshot) -> pd.DataFrame:
    rows = [(row["key"], row["contribution"]) for row in snapshot.measure_rows]
    frame = pd.DataFrame(rows, columns=[engine.MEASURE_KEY, engine.CONTRIBUTION])
    return frame.astype({engine.CONTRIBUTION: float})
