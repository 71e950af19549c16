"""Rules 3–7 on arrays: group and overall weighted means over what is present, coverage,
contributions rounded to cents that add up, the biggest lever, and bands."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scorecards.engine.columns import GROUP_ID, MEASURE_ID, POSITION, SCORECARD_ID, WEIGHT
from scorecards.engine.mapping import round_half_up


# --- Scorecard layout ---------------------------------------------------------------------------
def scorecard_layout(
    measures: pd.DataFrame, groups: pd.DataFrame, scorecard_ids: list[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The groups and measures of valid scorecards, each in scorecard order.

    Output: (group_rows, measure_rows). group_rows adds ``_share`` (W_g / ΣW of the scorecard)
    and ``_local`` (index of the group inside its scorecard); measure_rows adds
    ``_group_position``, ``_share``, ``_group_local`` and ``_nominal`` (the nominal effective
    weight of rule 5: W_g/ΣW_all × w_m/Σw_all_in_group). Weights become floats.
    """
    group_rows = groups[groups[SCORECARD_ID].isin(scorecard_ids)]
    group_rows = group_rows.sort_values([SCORECARD_ID, POSITION, GROUP_ID], kind="stable")
    group_rows = group_rows.reset_index(drop=True)
    group_weight = group_rows[WEIGHT].astype(float)
    by_scorecard = group_weight.groupby(group_rows[SCORECARD_ID])
    group_rows = group_rows.assign(
        **{WEIGHT: group_weight},
        _share=group_weight / by_scorecard.transform("sum"),
        _local=group_rows.groupby(SCORECARD_ID).cumcount(),
    )

    group_columns = group_rows[[SCORECARD_ID, GROUP_ID, POSITION, "_share", "_local"]]
    group_columns = group_columns.rename(
        columns={POSITION: "_group_position", "_local": "_group_local"}
    )
    measure_rows = measures[measures[SCORECARD_ID].isin(scorecard_ids)].merge(
        group_columns, on=[SCORECARD_ID, GROUP_ID], how="inner", validate="many_to_one"
    )
    order = [SCORECARD_ID, "_group_position", GROUP_ID]
    order += [POSITION] if POSITION in measure_rows.columns else []
    measure_rows = measure_rows.sort_values([*order, MEASURE_ID], kind="stable")
    measure_rows = measure_rows.reset_index(drop=True)
    weight = measure_rows[WEIGHT].astype(float)
    in_group = weight.groupby([measure_rows[SCORECARD_ID], measure_rows[GROUP_ID]])
    measure_rows = measure_rows.assign(
        **{WEIGHT: weight}, _nominal=measure_rows["_share"] * weight / in_group.transform("sum")
    )
    return group_rows, measure_rows


def repeat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate arange(start, start + count) for each pair, without a Python loop."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + np.arange(total) - offsets


def _first_rows(sorted_codes: np.ndarray) -> np.ndarray:
    """Position of each element's first occurrence in an already sorted code array."""
    return np.searchsorted(sorted_codes, sorted_codes, side="left")


def lists_per_account(items: np.ndarray, account_code: np.ndarray, n_accounts: int) -> list:
    """One list per account (empty when it has none), keeping the items' order.

    ``account_code`` must be sorted. A list column needs one Python object per account; slicing
    one flat list (map over slices, no per-account pandas or numpy call) keeps that cheap.
    """
    bounds = np.searchsorted(account_code, np.arange(n_accounts + 1))
    flat = items.tolist()
    return list(map(flat.__getitem__, map(slice, bounds[:-1].tolist(), bounds[1:].tolist())))


# --- Rules 3–6: group score, overall score, coverage, contribution ------------------------------
def group_scores(
    weight: np.ndarray, score: np.ndarray, is_present: np.ndarray, group_code: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 3: Σ(w·s)/Σw over present measures per group row; NaN when none is present.

    Output: (group score, Σw of the present measures) per group row.
    """
    present_weight = np.bincount(group_code, weights=weight * is_present, minlength=n)
    weighted = np.bincount(
        group_code, weights=np.where(is_present, weight * score, 0.0), minlength=n
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present_weight > 0, weighted / present_weight, np.nan), present_weight


def overall_scores(
    group_weight: np.ndarray, group_score: np.ndarray, account_code: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 4: Σ(W·S)/ΣW over present groups per account; NaN (never 0) when none is present.

    Output: (unrounded overall score, ΣW of the present groups) per account.
    """
    is_present = ~np.isnan(group_score)
    present_weight = np.bincount(account_code, weights=group_weight * is_present, minlength=n)
    weighted = np.bincount(
        account_code, weights=np.where(is_present, group_weight * group_score, 0.0), minlength=n
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present_weight > 0, weighted / present_weight, np.nan), present_weight


def coverage_of(
    nominal_weight: np.ndarray, is_present: np.ndarray, account_code: np.ndarray, n: int
) -> np.ndarray:
    """Rule 5: Σ nominal effective weight of the present measures, rounded to 4 decimals."""
    covered = np.bincount(account_code, weights=nominal_weight * is_present, minlength=n)
    return round_half_up(covered, 4)


def _order_within_accounts(
    account_code: np.ndarray, amount: np.ndarray, tie_rank: np.ndarray
) -> np.ndarray:
    """Row order: account ascending, then ``amount`` (non-negative ints) descending, then
    ``tie_rank`` ascending.

    Packs the three keys into one int64 for a single argsort when they fit — over ten times
    faster than np.lexsort on a million rows — and falls back to lexsort when they do not.
    """
    if len(account_code) == 0:
        return np.zeros(0, dtype=np.int64)
    account_span = int(account_code.max()) + 1
    amount_span = int(amount.max()) + 1
    tie_span = int(tie_rank.max()) + 1
    if account_span * amount_span * tie_span < 2**62:
        packed = account_code.astype(np.int64) * amount_span + (amount_span - 1 - amount)
        packed = packed * tie_span + tie_rank
        return np.argsort(packed, kind="stable")
    return np.lexsort((tie_rank, -amount, account_code))


def largest_remainder_cents(
    exact: np.ndarray, account_code: np.ndarray, total_cents: np.ndarray, tie_rank: np.ndarray
) -> np.ndarray:
    """Rule 6 rounding: integer cents per row that add up to ``total_cents`` per account.

    Every row gets floor(exact·100); the cents still missing go one each to the rows with the
    largest remainder, ties to the lower ``tie_rank`` (measure_key ascending). Remainders are
    snapped to millionths of a cent so that mathematically equal remainders tie instead of
    differing in the last float bit. Rounding the total half-up keeps the shortfall within
    0..rows, so no row moves by more than one cent.
    """
    cents = np.round(exact * 100.0, 6)
    floor = np.floor(cents)
    remainder = np.rint((cents - floor) * 1e6).astype(np.int64)
    shortfall = total_cents - np.bincount(account_code, weights=floor, minlength=len(total_cents))
    order = _order_within_accounts(account_code, remainder, tie_rank)
    sorted_code = account_code[order]
    rank = np.arange(len(order)) - _first_rows(sorted_code)
    floor[order[rank < shortfall[sorted_code]]] += 1.0
    return floor.astype(np.int64)


def biggest_lever(
    gap: np.ndarray, account_code: np.ndarray, tie_rank: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rule 6: per account, the row with the largest effective weight × (100 − score).

    Input rows are the present measures of scored accounts. Ties go to the lower ``tie_rank``
    (measure_key ascending); gaps are snapped to 6 decimals so equal gaps really tie.
    Output: (row index or −1, gain rounded to 2 decimals or NaN) per account. A lever worth
    0.00 is no lever: every present measure is (practically) at 100.
    """
    row = np.full(n, -1, dtype=np.int64)
    gain = np.full(n, np.nan)
    snapped = np.rint(gap * 1e6).astype(np.int64)
    order = _order_within_accounts(account_code, snapped, tie_rank)
    first = order[np.unique(account_code[order], return_index=True)[1]]
    rounded = round_half_up(gap[first])
    worth_it = rounded > 0
    row[account_code[first[worth_it]]] = first[worth_it]
    gain[account_code[first[worth_it]]] = rounded[worth_it]
    return row, gain


# --- Rule 7: bands ------------------------------------------------------------------------------
def band_ranks(
    score: np.ndarray, scorecard_code: np.ndarray, band_mins: list[np.ndarray]
) -> np.ndarray:
    """Rule 7: index of the last band (ordered by min) whose min ≤ score, per account.

    A score below the lowest min gets the lowest band (0); NaN gets −1. One searchsorted per
    scorecard. ``score`` must already be the stored, 2-decimal value.
    """
    ranks = np.full(len(score), -1, dtype=np.int64)
    for code, mins in enumerate(band_mins):
        rows = (scorecard_code == code) & ~np.isnan(score)
        found = np.searchsorted(mins, score[rows], side="right") - 1
        ranks[rows] = np.clip(found, 0, None)
    return ranks


# --- Rule 8: exceptions -------------------------------------------------------------------------
def exception_fires(score: np.ndarray, op: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Whether ``score op value`` holds, row by row (one vectorised comparison per operator)."""
    comparisons = {
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
        "==": np.equal,
    }
    fires = np.zeros(len(score), dtype=bool)
    for symbol, compare in comparisons.items():
        rows = op == symbol
        fires[rows] = compare(score[rows], value[rows])
    return fires
