"""Scores over time: which scorecard scores which account (assignment), trends (rule 9) and
"what changed" between two dates (rule 11)."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from scorecards.engine.columns import (
    ACCOUNT_ID,
    AS_OF,
    CHANGE,
    CONTRIBUTION,
    CONTRIBUTION_A,
    CONTRIBUTION_B,
    DOWN,
    FLAT,
    IS_DEFAULT,
    LIFECYCLE,
    LIFECYCLES,
    MEASURE_KEY,
    OVERALL,
    PRIORITY,
    SCORECARD_ID,
    SEGMENT,
    SEGMENTS,
    TIER,
    TIERS,
    UP,
)
from scorecards.engine.mapping import as_list, require_columns, round_half_up


# --- Rule "assignment": which scorecard scores which account ------------------------------------
def assign_scorecards(accounts: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Choose each account's scorecard: the first matching rule by priority, else the default.

    Inputs: accounts ``account_id, segment, tier, lifecycle``; rules ``scorecard_id, priority,
    segments, tiers, lifecycles, is_default`` (lists; empty or None = any value). Rules are tried
    by priority, ties by scorecard_id. A rule matches when every non-empty list contains the
    account's value; a non-default rule with all three lists empty matches nothing (it would
    otherwise swallow every account). The default scorecard's own lists are a rule like any
    other, and it is also the fallback. Should several rows claim to be the default, the first
    by (priority, scorecard_id) is used. Output: ``account_id, scorecard_id`` sorted by
    account_id; with no default, unmatched accounts are absent.
    """
    require_columns(accounts, [ACCOUNT_ID, SEGMENT, TIER, LIFECYCLE], "accounts")
    require_columns(
        rules, [SCORECARD_ID, PRIORITY, SEGMENTS, TIERS, LIFECYCLES, IS_DEFAULT], "rules"
    )
    ordered = rules.sort_values([PRIORITY, SCORECARD_ID], kind="stable")
    chosen = pd.Series(pd.NA, index=accounts.index, dtype="Int64")
    dimensions = ((SEGMENTS, SEGMENT), (TIERS, TIER), (LIFECYCLES, LIFECYCLE))
    for rule in ordered.to_dict("records"):
        wanted = [(as_list(rule[lists]), column) for lists, column in dimensions]
        if not rule[IS_DEFAULT] and not any(allowed for allowed, _ in wanted):
            continue
        matches = chosen.isna().to_numpy()
        for allowed, column in wanted:
            if allowed:
                matches &= accounts[column].isin(allowed).to_numpy()
        chosen[matches] = rule[SCORECARD_ID]
    defaults = ordered.loc[ordered[IS_DEFAULT].astype(bool), SCORECARD_ID]
    if len(defaults):
        chosen = chosen.fillna(int(defaults.iloc[0]))
    result = pd.DataFrame({ACCOUNT_ID: accounts[ACCOUNT_ID], SCORECARD_ID: chosen})
    result = result.dropna(subset=[SCORECARD_ID])
    result = result.astype({ACCOUNT_ID: np.int64, SCORECARD_ID: np.int64})
    return result.sort_values(ACCOUNT_ID, kind="stable").reset_index(drop=True)


# --- Rule 9: trend ------------------------------------------------------------------------------
def trends(
    current: pd.DataFrame,
    history: pd.DataFrame,
    *,
    as_of: date,
    windows: tuple[int, ...] = (7, 30, 90),
    flat_below: float = 2.0,
) -> pd.DataFrame:
    """Rule 9: overall today minus overall on today − N days, per window N.

    Inputs: current ``account_id, overall`` (today's scores, NaN = not scored); history
    ``account_id, as_of, overall`` — the earlier scores on the anchor dates today − N, which
    the caller has chosen like for like (rule 13: same scorecard version, else that date
    rescored). Only a row dated exactly today − N counts for window N, so the trend does not
    depend on which other days happen to have been scored. No row, or a NaN on either side,
    gives NaN. Output, sorted by account_id: ``account_id`` then ``trend_N`` (2 decimals) and
    ``direction_N`` ('up' | 'down' | 'flat' | None) for each N in ``windows``; flat when the
    rounded |delta| < ``flat_below``.
    """
    require_columns(current, [ACCOUNT_ID, OVERALL], "current")
    require_columns(history, [ACCOUNT_ID, AS_OF, OVERALL], "history")
    if current[ACCOUNT_ID].duplicated().any():
        raise ValueError("current must hold one row per account")
    today = current[[ACCOUNT_ID, OVERALL]].sort_values(ACCOUNT_ID, kind="stable")
    today = today.reset_index(drop=True)
    # Stable sort: of two rows on one date, the later row in `history` counts.
    past = history[[ACCOUNT_ID, OVERALL]].assign(
        **{AS_OF: pd.to_datetime(history[AS_OF]).dt.normalize()}
    )
    past = past.sort_values([ACCOUNT_ID, AS_OF], kind="stable")
    result = today[[ACCOUNT_ID]].copy()
    for days in windows:
        anchor = pd.Timestamp(as_of) - pd.Timedelta(days=days)
        nearest = past[past[AS_OF] == anchor].drop_duplicates(ACCOUNT_ID, keep="last")
        then = today[ACCOUNT_ID].map(nearest.set_index(ACCOUNT_ID)[OVERALL]).astype(float)
        delta = round_half_up(today[OVERALL].astype(float).to_numpy() - then.to_numpy())
        result[f"trend_{days}"] = delta
        result[f"direction_{days}"] = _direction(delta, flat_below)
    return result


def _direction(delta: np.ndarray, flat_below: float) -> np.ndarray:
    """'up' / 'down' / 'flat' per delta; None where the delta is NaN."""
    direction = np.where(delta > 0, UP, DOWN).astype(object)
    direction[np.abs(delta) < flat_below] = FLAT
    direction[np.isnan(delta)] = None
    return direction


# --- Rule 11: what changed ----------------------------------------------------------------------
def score_changes(measures_a: pd.DataFrame, measures_b: pd.DataFrame) -> pd.DataFrame:
    """Rule 11: per measure, contribution on B minus contribution on A.

    Inputs: two frames ``measure_key, contribution`` (one account's measure rows on dates A and
    B; one row per key). Output: ``measure_key, contribution_a, contribution_b, change`` —
    contribution_a/b are NaN where that date has no row for the key, and count as 0 in
    ``change``; sorted by |change| descending, then measure_key. Computed in integer cents, so
    the changes add up exactly to Σcontribution_b − Σcontribution_a.
    """
    for name, frame in (("measures_a", measures_a), ("measures_b", measures_b)):
        require_columns(frame, [MEASURE_KEY, CONTRIBUTION], name)
        if frame[MEASURE_KEY].duplicated().any():
            raise ValueError(f"{name} must hold one row per measure_key")
    side_a = measures_a[[MEASURE_KEY, CONTRIBUTION]].rename(columns={CONTRIBUTION: CONTRIBUTION_A})
    side_b = measures_b[[MEASURE_KEY, CONTRIBUTION]].rename(columns={CONTRIBUTION: CONTRIBUTION_B})
    merged = side_a.merge(side_b, on=MEASURE_KEY, how="outer", sort=True)
    merged = merged.astype({CONTRIBUTION_A: float, CONTRIBUTION_B: float})
    cents_a = np.round(merged[CONTRIBUTION_A].fillna(0.0).to_numpy() * 100.0).astype(np.int64)
    cents_b = np.round(merged[CONTRIBUTION_B].fillna(0.0).to_numpy() * 100.0).astype(np.int64)
    change_cents = cents_b - cents_a
    merged = merged.assign(**{CHANGE: change_cents / 100.0, "_size": np.abs(change_cents)})
    merged = merged.sort_values(["_size", MEASURE_KEY], ascending=[False, True], kind="stable")
    return merged.drop(columns="_size").reset_index(drop=True)


class LineChange(NamedTuple):
    """One line of "what changed" (rule 11): its contribution on A and on B (None where that
    date has no such line) and B − A, a missing side counting 0."""

    measure_key: str
    contribution_a: float | None
    contribution_b: float | None
    change: float


def line_changes(
    contributions_a: dict[str, float | None], contributions_b: dict[str, float | None]
) -> list[LineChange]:
    """Rule 11 for one account, without a DataFrame (a page or an API answer compares a
    dozen lines; pandas cost more than the rest of the page): `score_changes` on the lines
    as ``{measure key: contribution}``, in integer cents, sorted by |change| descending,
    then measure key; every line kept, changes of 0 included."""
    return [
        LineChange(
            key,
            _points(contributions_a.get(key)),
            _points(contributions_b.get(key)),
            cents / 100,
        )
        for key, cents in _changes_in_cents(contributions_a, contributions_b)
    ]


def largest_changes(
    contributions_a: dict[str, float], contributions_b: dict[str, float], *, count: int = 3
) -> list[tuple[str, float]]:
    """Rule 11 for one account, without a DataFrame (a night's band moves call it thousands
    of times): the `count` largest per-measure changes, contribution on B minus contribution
    on A, a missing side counting 0, in integer cents as `score_changes`; sorted by |change|
    descending, then measure key; changes of 0 left out. Returns [(measure_key, change)]."""
    changes = _changes_in_cents(contributions_a, contributions_b)
    return [(key, cents / 100) for key, cents in changes if cents][:count]


def _changes_in_cents(
    contributions_a: dict[str, Any], contributions_b: dict[str, Any]
) -> list[tuple[str, int]]:
    """(key, B − A in cents) per line of either side, largest |change| first, then key."""
    changes = [
        (key, _cents(contributions_b.get(key)) - _cents(contributions_a.get(key)))
        for key in contributions_a.keys() | contributions_b.keys()
    ]
    changes.sort(key=lambda item: (-abs(item[1]), item[0]))
    return changes


def _points(points: Any) -> float | None:
    """A contribution as a float, None when missing (None or NaN)."""
    if points is None:
        return None
    value = float(points)
    return None if value != value else value


def _cents(points: Any) -> int:
    """Points as integer cents; a missing contribution (None, NaN) is 0. Plain float checks:
    a night's band moves call it tens of thousands of times."""
    if points is None:
        return 0
    value = float(points)
    return 0 if value != value else round(value * 100)
