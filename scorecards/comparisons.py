"""Like for like (PRODUCT.md scoring rule 13) and the lines of a breakdown (rule 12).

A trend, a "what changed" and the movement risks compare a later score with an earlier one.
Both must come from the same scorecard version, or a change of method would read as a change
of customer. The earlier score of an account on a date is:

1. that date's snapshot, when it was scored with the same scorecard and version as the later
   score;
2. else that date rescored, in memory, under today's (the live) version from the value
   history — set-based: one engine call per date for all the accounts that need it;
3. else nothing (the later score is itself of an older version than the live one, which
   happens only between a publish and the end of its rescore): no comparison is made.

So a trend never depends on which days happened to be scored first: with or without the
earlier day's snapshot, the earlier score is the same number.

Reads only; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection

from scorecards import engine, selectors
from scorecards.models import ScoreSnapshot

SNAPSHOTS_ON = (
    "SELECT account_id, scorecard_id, scorecard_version, overall, computed, band "
    "FROM scorecards_scoresnapshot WHERE as_of = %s AND account_id BETWEEN %s AND %s"
)
EXCEPTION_LINE = "exception:"
LATER_VERSION = "scorecard_version"
IS_RESCORED = "is_rescored"
ON = "on"
LINES = "lines"
EARLIER_COLUMNS = [
    engine.ACCOUNT_ID,
    ON,
    engine.OVERALL,
    engine.COMPUTED,
    engine.BAND,
    engine.SCORECARD_ID,
    IS_RESCORED,
]


# --- Rule 12: the lines of a breakdown -----------------------------------------------------------
def exception_line_key(reason: str) -> str:
    """The key of an exception's line in "what changed", beside the measure keys."""
    return f"{EXCEPTION_LINE}{reason}"


def exception_effect(exception: dict, *, overall, computed) -> float:
    """An exception's effect in points (rule 12). Snapshots written before effects were
    recorded have none: there the override is worth overall − computed."""
    if "effect" in exception:
        return float(exception["effect"])
    if exception.get("action") == engine.OVERRIDE and overall is not None and computed is not None:
        return float(engine.round_half_up(float(overall) - float(computed)))
    return 0.0


def snapshot_lines(snapshot: ScoreSnapshot) -> dict[str, float]:
    """A scored snapshot's lines, ``{line key: contribution}``: each measure's contribution,
    then each exception with an effect (keyed ``exception:<reason>``). They add up to the
    overall score (rules 6 and 12)."""
    lines = {
        row["key"]: float(row["contribution"])
        for row in snapshot.measure_rows
        if row["contribution"] is not None
    }
    lines.update(_exception_lines(snapshot.exceptions, snapshot.overall, snapshot.computed))
    return lines


def _exception_lines(exceptions: list[dict], overall, computed) -> dict[str, float]:
    lines: dict[str, float] = {}
    for exception in exceptions or []:
        effect = exception_effect(exception, overall=overall, computed=computed)
        if effect:
            key = exception_line_key(exception["reason"])
            lines[key] = lines.get(key, 0.0) + effect
    return lines


def rescored_lines(result: engine.ScoringResult) -> dict[int, dict[str, float | None]]:
    """Each account's lines of an in-memory scoring, ``{line key: contribution}``: every
    measure (None where it contributes nothing), then each exception with an effect. Column
    by column, as a run's chunk rescores thousands of accounts at once."""
    measures = result.measures
    lines: dict[int, dict[str, float | None]] = {}
    for account_id, key, contribution in zip(
        measures[engine.ACCOUNT_ID].tolist(),
        measures[engine.MEASURE_KEY].tolist(),
        measures[engine.CONTRIBUTION].astype(float).tolist(),
        strict=True,
    ):
        is_nan = contribution != contribution
        lines.setdefault(account_id, {})[key] = None if is_nan else contribution
    accounts = result.accounts
    has_exceptions = accounts[engine.EXCEPTIONS].map(len).to_numpy(dtype=bool)
    for account_id, exceptions, overall, computed in zip(
        accounts[engine.ACCOUNT_ID][has_exceptions].tolist(),
        accounts[engine.EXCEPTIONS][has_exceptions].tolist(),
        accounts[engine.OVERALL][has_exceptions].tolist(),
        accounts[engine.COMPUTED][has_exceptions].tolist(),
        strict=True,
    ):
        lines.setdefault(account_id, {}).update(_exception_lines(exceptions, overall, computed))
    return lines


# --- Rule 13: the earlier score, like for like ---------------------------------------------------
def earlier_scores_frame(
    *,
    later: pd.DataFrame,
    on: date,
    frames: selectors.ScorecardFrames | None = None,
    first_id: int | None = None,
    last_id: int | None = None,
    with_lines: bool = False,
) -> pd.DataFrame:
    """Each account's score on ``on``, comparable with its later score (rule 13).

    later: ``account_id, scorecard_id, scorecard_version`` — the scorecard and version of
    each account's later score. first_id / last_id: the accounts' id range when they are a
    run's chunk (the reads then use the range rather than a list of ids).

    Output (EARLIER_COLUMNS), one row per account of ``later``: ``on``, ``overall``,
    ``computed`` and ``band`` of the earlier score (NaN / None when there is none to compare
    with: not scored on that date, or not comparable), ``scorecard_id`` and ``is_rescored``
    (True when the date was rescored in memory). Queries: one for the date's snapshots, and
    when some are missing or of another version, the live definitions (unless passed) and one
    read of the values for the accounts rescored. ``with_lines`` adds ``lines``: a rescored
    account's lines as `rescored_lines` gives them (None for the others), which a run keeps in
    its snapshot so that "what changed" need not rescore again (`earlier_breakdown`).
    """
    later = later[[engine.ACCOUNT_ID, engine.SCORECARD_ID, LATER_VERSION]].reset_index(drop=True)
    ids = later[engine.ACCOUNT_ID].astype("int64").tolist()
    stored = _snapshots_on(on=on, account_ids=ids, first_id=first_id, last_id=last_id)
    merged = later.merge(stored, on=engine.ACCOUNT_ID, how="left", suffixes=("", "_then"))
    is_same = (merged[engine.SCORECARD_ID] == merged["scorecard_id_then"]) & (
        merged[LATER_VERSION] == merged["version_then"]
    )
    result = pd.DataFrame(
        {
            engine.ACCOUNT_ID: merged[engine.ACCOUNT_ID].astype("int64"),
            ON: pd.Timestamp(on),
            engine.OVERALL: np.where(is_same, merged[engine.OVERALL], np.nan).astype(float),
            engine.COMPUTED: np.where(is_same, merged[engine.COMPUTED], np.nan).astype(float),
            engine.BAND: np.where(is_same, merged[engine.BAND], None).astype(object),
            engine.SCORECARD_ID: merged[engine.SCORECARD_ID].astype("int64"),
            IS_RESCORED: False,
        },
        columns=EARLIER_COLUMNS,
    )
    if with_lines:
        result[LINES] = None
    if bool(is_same.all()):
        return result
    frames = frames or selectors.scorecard_frames()
    live = later[engine.SCORECARD_ID].map(frames.versions)
    needs = (~is_same & (later[LATER_VERSION] == live)).to_numpy()
    if not needs.any():
        return result
    scoring = rescore_on(
        assignments=later.loc[needs, [engine.ACCOUNT_ID, engine.SCORECARD_ID]],
        on=on,
        frames=frames,
        first_id=first_id,
        last_id=last_id,
    )
    rescored = scoring.accounts.set_index(engine.ACCOUNT_ID)
    rows = result.loc[needs, engine.ACCOUNT_ID]
    if with_lines:
        lines = rescored_lines(scoring)
        result.loc[needs, LINES] = pd.Series(
            [lines.get(account_id, {}) for account_id in rows.tolist()],
            index=rows.index,
            dtype=object,
        )
    result.loc[needs, engine.OVERALL] = rows.map(rescored[engine.OVERALL]).to_numpy(dtype=float)
    result.loc[needs, engine.COMPUTED] = rows.map(rescored[engine.COMPUTED]).to_numpy(dtype=float)
    result.loc[needs, engine.BAND] = rows.map(rescored[engine.BAND]).to_numpy(dtype=object)
    result.loc[needs, IS_RESCORED] = True
    return result


def rescore_on(
    *,
    assignments: pd.DataFrame,
    on: date,
    frames: selectors.ScorecardFrames,
    first_id: int | None = None,
    last_id: int | None = None,
) -> engine.ScoringResult:
    """Score the given accounts (``account_id, scorecard_id``) on ``on`` under the live
    definitions, from the value history, in memory. One read of values, one engine call."""
    ids = assignments[engine.ACCOUNT_ID].astype("int64").tolist()
    values = selectors.latest_values_of_accounts_frame(
        account_ids=ids, as_of=on, first_id=first_id, last_id=last_id
    )
    return engine.score_accounts(
        values=values,
        measures=frames.measures,
        groups=frames.groups,
        scorecards=frames.scorecards,
        bands=frames.bands,
        exception_rules=frames.exception_rules,
        assignments=assignments,
        as_of=on,
    )


def _snapshots_on(
    *, on: date, account_ids: list[int], first_id: int | None, last_id: int | None
) -> pd.DataFrame:
    """The snapshots of `on` of the accounts: account_id, scorecard_id_then, version_then,
    overall, computed, band. One query (by id range for a chunk, else by ids)."""
    columns = [
        engine.ACCOUNT_ID,
        "scorecard_id_then",
        "version_then",
        engine.OVERALL,
        engine.COMPUTED,
        engine.BAND,
    ]
    if connection.vendor == "postgresql" and first_id is not None and last_id is not None:
        # A run's chunk: streamed with COPY, far cheaper than a row of Decimals at a time.
        frame = selectors.copy_frames(SNAPSHOTS_ON, [[on, first_id, last_id]], columns)
        return frame.astype(
            {engine.ACCOUNT_ID: "int64", engine.OVERALL: float, engine.COMPUTED: float}
        )
    snapshots = ScoreSnapshot.objects.filter(as_of=on)
    if first_id is not None and last_id is not None:
        snapshots = snapshots.filter(account_id__gte=first_id, account_id__lte=last_id)
    else:
        snapshots = snapshots.filter(account_id__in=account_ids)
    rows = snapshots.values_list(
        "account_id", "scorecard_id", "scorecard_version", "overall", "computed", "band"
    )
    frame = pd.DataFrame(
        list(rows),
        columns=[
            engine.ACCOUNT_ID,
            "scorecard_id_then",
            "version_then",
            engine.OVERALL,
            engine.COMPUTED,
            engine.BAND,
        ],
    )
    return frame.astype({engine.ACCOUNT_ID: "int64", engine.OVERALL: float, engine.COMPUTED: float})


# --- One account: the earlier score with its lines ("what changed") -------------------------------
@dataclass(frozen=True)
class EarlierBreakdown:
    """An account's earlier score, comparable with a later snapshot (rule 13), and its lines
    (rule 12): ``overall`` None when it was not scored on ``on``."""

    on: date
    overall: float | None
    lines: dict[str, float | None]
    is_rescored: bool


def earlier_breakdown(
    *, later: ScoreSnapshot, on: date, frames: selectors.ScorecardFrames | None = None
) -> EarlierBreakdown | None:
    """The score of ``later``'s account on ``on`` like for like: that day's snapshot when it
    is of the same scorecard and version, else that day rescored under the live version (kept
    by the run in ``later`` when it rescored that day for a trend, else rescored now).
    None when no like-for-like score can be made (``later`` is itself of an older version
    than the live one: its account awaits the rescore that follows a publish)."""
    kept = earlier_breakdown_kept(later=later, on=on)
    if kept is not None:
        return kept
    return earlier_breakdown_rescored(
        later=later, on=on, frames=frames or selectors.scorecard_frames()
    )


def earlier_breakdown_kept(*, later: ScoreSnapshot, on: date) -> EarlierBreakdown | None:
    """The like-for-like score on ``on`` without rescoring: that day's snapshot when it is of
    ``later``'s scorecard and version, else the rescore of that day the run kept in ``later``
    (``earlier_scores``, for its trend windows) while ``later``'s version is still the live
    one. None when neither is there."""
    return earlier_breakdowns_kept(later=later, days=[on])[on]


def earlier_breakdowns_kept(
    *, later: ScoreSnapshot, days: list[date]
) -> dict[date, EarlierBreakdown | None]:
    """`earlier_breakdown_kept` for each of ``days``: one query for their snapshots (and the
    scorecard's, when not loaded)."""
    snapshots = {
        snapshot.as_of: snapshot
        for snapshot in ScoreSnapshot.objects.filter(account_id=later.account_id, as_of__in=days)
    }
    return {on: _kept_on(later, on, snapshots.get(on)) for on in days}


def _kept_on(
    later: ScoreSnapshot, on: date, snapshot: ScoreSnapshot | None
) -> EarlierBreakdown | None:
    if (
        snapshot is not None
        and snapshot.scorecard_id == later.scorecard_id
        and snapshot.scorecard_version == later.scorecard_version
    ):
        overall = None if snapshot.overall is None else float(snapshot.overall)
        return EarlierBreakdown(
            on=on, overall=overall, lines=snapshot_lines(snapshot), is_rescored=False
        )
    kept = (later.earlier_scores or {}).get(str((later.as_of - on).days))
    if kept is None or kept[ON] != on.isoformat():
        return None
    if later.scorecard.version != later.scorecard_version:
        return None  # kept under a version since replaced: not today's method (rule 13)
    overall = kept[engine.OVERALL]
    return EarlierBreakdown(on=on, overall=overall, lines=kept[LINES], is_rescored=True)


def earlier_breakdown_rescored(
    *, later: ScoreSnapshot, on: date, frames: selectors.ScorecardFrames
) -> EarlierBreakdown | None:
    """``on`` rescored now under the live version for ``later``'s account; None when
    ``later`` is of an older version than the live one. One read of values, one engine call."""
    if frames.versions.get(later.scorecard_id) != later.scorecard_version:
        return None
    assignments = pd.DataFrame(
        {engine.ACCOUNT_ID: [later.account_id], engine.SCORECARD_ID: [later.scorecard_id]}
    )
    result = rescore_on(assignments=assignments, on=on, frames=frames)
    overall = float(result.accounts[engine.OVERALL].iloc[0]) if len(result.accounts) else np.nan
    return EarlierBreakdown(
        on=on,
        overall=None if np.isnan(overall) else overall,
        lines=rescored_lines(result).get(later.account_id, {}),
        is_rescored=True,
    )
