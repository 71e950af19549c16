"""Rule 8 (and 12): which exception rules fire, and their effect on the overall score and
band (override wins over cap_band, which wins over flag; among overrides, the lowest), and
each fired rule's effect in points (rule 12: the line that makes the breakdown add up)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scorecards.engine.columns import (
    ACTION,
    BAND,
    CAP_BAND,
    LABEL,
    MEASURE_ID,
    OP,
    OVERRIDE,
    REASON,
    RULE_ID,
    SCORE,
    SCORECARD_ID,
    VALUE,
)
from scorecards.engine.mapping import round_half_up
from scorecards.engine.rules import band_ranks, exception_fires


def fired_exceptions(
    *,
    exception_rules: pd.DataFrame,
    scorecard_ids: list[int],
    row_account: np.ndarray,
    row_scorecard: np.ndarray,
    row_measure: np.ndarray,
    row_score: np.ndarray,
    is_present: np.ndarray,
) -> pd.DataFrame:
    """Rule 8, first half: which rules fire for which account.

    Only present measures are tested — a stale or absent measure never fires. Output:
    ``_account`` (account code), ``scorecard_id, rule_id, action, band, score`` (the override
    score) and ``reason``, sorted by account then rule_id.
    """
    rules = exception_rules[exception_rules[SCORECARD_ID].isin(scorecard_ids)]
    present = np.flatnonzero(is_present)
    candidates = pd.DataFrame(
        {
            "_account": row_account[present],
            SCORECARD_ID: row_scorecard[present],
            MEASURE_ID: row_measure[present],
            "_measure_score": row_score[present],
        }
    ).merge(
        rules[[SCORECARD_ID, MEASURE_ID, RULE_ID, OP, VALUE, ACTION, BAND, SCORE, REASON]],
        on=[SCORECARD_ID, MEASURE_ID],
        how="inner",
    )
    fires = exception_fires(
        candidates["_measure_score"].to_numpy(dtype=float),
        candidates[OP].to_numpy(dtype=object),
        candidates[VALUE].to_numpy(dtype=float),
    )
    fired = candidates[fires].sort_values(["_account", RULE_ID], kind="stable")
    return fired.drop(columns=[MEASURE_ID, "_measure_score", OP, VALUE]).reset_index(drop=True)


def apply_exceptions(
    *,
    computed: np.ndarray,
    scorecard_code: np.ndarray,
    band_mins: list[np.ndarray],
    band_rows: pd.DataFrame,
    fired: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 8, second half: precedence override > cap_band > flag.

    Any override: overall = the lowest override score (2 decimals) and the band follows it;
    cap_band is then ignored. Else any cap_band: band = the worst (lowest min) of the computed
    band and every named band. Flags change nothing; not-scored accounts stay not scored.
    Output: (overall, band rank within the scorecard or −1) per account.
    """
    n = len(computed)
    is_scored = ~np.isnan(computed)
    accounts = fired["_account"].to_numpy()
    action = fired[ACTION].to_numpy(dtype=object)

    lowest_override = np.full(n, np.inf)
    overrides = action == OVERRIDE
    np.minimum.at(lowest_override, accounts[overrides], fired[SCORE].to_numpy(float)[overrides])
    is_overridden = is_scored & np.isfinite(lowest_override)
    overall = computed.copy()
    overall[is_overridden] = round_half_up(lowest_override[is_overridden])
    band_rank = band_ranks(overall, scorecard_code, band_mins)

    caps = fired[action == CAP_BAND]
    ranked_bands = band_rows.assign(_rank=band_rows.groupby(SCORECARD_ID).cumcount())
    # Labels are unique per scorecard; should a frame repeat one, its lowest band counts.
    ranked_bands = ranked_bands.drop_duplicates([SCORECARD_ID, LABEL], keep="first")
    cap_ranks = caps.merge(
        ranked_bands[[SCORECARD_ID, LABEL, "_rank"]].rename(columns={LABEL: BAND}),
        on=[SCORECARD_ID, BAND],
        how="inner",
    )
    worst_cap = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(worst_cap, cap_ranks["_account"].to_numpy(), cap_ranks["_rank"].to_numpy())
    is_capped = is_scored & ~is_overridden
    band_rank = np.where(is_capped, np.minimum(band_rank, worst_cap), band_rank)
    return overall, band_rank


def exception_effects(
    *, fired: pd.DataFrame, computed: np.ndarray, overall: np.ndarray
) -> np.ndarray:
    """Rule 12: each fired rule's effect on the overall score, in points.

    The override that set the overall score (the lowest; of equal ones the lowest rule_id,
    ``fired`` being sorted by account then rule_id) has effect overall − computed, so that the
    contributions (which add up to ``computed``) plus this line add up to ``overall``. Every
    other rule — flags, band caps, overrides that lost, any rule of a not-scored account — has
    effect 0. Output: one float per row of ``fired``, in cents (2 decimals).
    """
    effect = np.zeros(len(fired))
    if not len(fired):
        return effect
    accounts = fired["_account"].to_numpy()
    is_override = fired[ACTION].to_numpy(dtype=object) == OVERRIDE
    score = round_half_up(fired[SCORE].to_numpy(dtype=float))
    with np.errstate(invalid="ignore"):
        sets_score = is_override & ~np.isnan(computed[accounts]) & (score == overall[accounts])
    candidates = np.flatnonzero(sets_score)
    _, first = np.unique(accounts[candidates], return_index=True)
    winners = candidates[first]
    effect[winners] = round_half_up(overall[accounts[winners]] - computed[accounts[winners]])
    return effect
