"""Reads behind the score endpoints: an account's score in the shape of PRODUCT.md ("API
shapes"), its history and what changed (rules 11–13). Snapshots are read as stored; only
"what changed" may rescore an earlier day in memory, when its snapshot is missing or of
another scorecard version (rule 13, scorecards.comparisons)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.http import Http404

from accounts.models import Account
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards import comparisons, engine
from scorecards.learning.likelihood import renewal_likelihood_for
from scorecards.models import CurrentScore, ScoreSnapshot
from scorecards.services.derived import inputs_on, snapshot_inputs

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
    overall, computed (the score before exceptions), band, coverage, trend, groups,
    measures, exceptions (each with its effect in points, rule 12), biggest_lever, and
    renewal_likelihood (the calibrated probability of renewal of the overall score, None when
    not scored or with too few renewal outcomes). A derived measure adds `inputs`: what its
    raw value was made of, in words."""
    inputs = snapshot_inputs(snapshot)
    return {
        "account": account.external_id,
        "date": snapshot.as_of.isoformat(),
        "scorecard": snapshot.scorecard.name,
        "overall": _number(snapshot.overall),
        "computed": _number(snapshot.computed),
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
                **({"inputs": inputs[row["key"]]} if row["key"] in inputs else {}),
            }
            for row in snapshot.measure_rows
        ],
        "exceptions": [
            {
                "reason": exception["reason"],
                "action": exception["action"],
                "effect": comparisons.exception_effect(
                    exception, overall=snapshot.overall, computed=snapshot.computed
                ),
            }
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
    """Rules 11–13: per line, its contribution on B minus its contribution on A, largest first.

    B is the snapshot of `as_of` (default: the current one); A the account's score on
    `since` (default: 30 days before B) made by B's scorecard version: that day's snapshot
    when it is of that version, else that day rescored from the value history (rule 13).
    Lines are the measures and, where an override set the score, the exception (rule 12), so
    the changes add up exactly to score_to − score_from, the overall scores. Raises Http404
    when B has no snapshot or A has no score, and NotScored when B was not scored or no
    like-for-like A can be made yet (B's version is not the live one).
    """
    later = account_snapshot(account=account, as_of=as_of)
    since = since or later.as_of - timedelta(days=CHANGES_DAYS)
    if later.overall is None:
        raise NotScored(f"{account.external_id} was not scored on {later.as_of}.")
    earlier = comparisons.earlier_breakdown(later=later, on=since)
    if earlier is None:
        raise NotScored(
            f"{account.external_id}'s score of {later.as_of} is of version "
            f"{later.scorecard_version}, which is being replaced; compare after the rescore."
        )
    if earlier.overall is None:
        raise Http404(f"{account.external_id} has no score on {since.isoformat()}.")
    changes = engine.line_changes(earlier.lines, comparisons.snapshot_lines(later))
    change = float(engine.round_half_up(float(later.overall) - earlier.overall))
    inputs_from = inputs_on(account_id=account.pk, on=since)
    inputs_to = snapshot_inputs(later)
    return {
        "account": account.external_id,
        "from": since.isoformat(),
        "to": later.as_of.isoformat(),
        "score_from": earlier.overall,
        "score_to": float(later.overall),
        "change": change,
        "is_rescored": earlier.is_rescored,
        "measures": [
            _change_row(row, inputs_from=inputs_from, inputs_to=inputs_to) for row in changes
        ],
    }


def _change_row(row, *, inputs_from: dict, inputs_to: dict) -> dict[str, Any]:
    """A measure's line, or an exception's (``measure`` null, ``exception`` its reason); a
    derived measure's line adds its inputs in words on both dates."""
    is_exception = row.measure_key.startswith(comparisons.EXCEPTION_LINE)
    inputs = (
        {
            "inputs_from": inputs_from.get(row.measure_key),
            "inputs_to": inputs_to.get(row.measure_key),
        }
        if row.measure_key in inputs_from or row.measure_key in inputs_to
        else {}
    )
    return {
        "measure": None if is_exception else row.measure_key,
        "exception": row.measure_key.removeprefix(comparisons.EXCEPTION_LINE)
        if is_exception
        else None,
        "contribution_from": row.contribution_a,
        "contribution_to": row.contribution_b,
        "change": row.change,
        **inputs,
    }
