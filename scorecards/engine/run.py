"""The whole run: score_accounts scores every assigned account on one date, applying rules
1–8 set-based over the portfolio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scorecards.engine.columns import (
    ACCOUNT_COLUMNS,
    ACCOUNT_ID,
    ACTION,
    AS_OF,
    BAND,
    BIGGEST_LEVER_GAIN,
    BIGGEST_LEVER_KEY,
    COMPUTED,
    CONTRIBUTION,
    COVERAGE,
    DAY_NS,
    EFFECT,
    EFFECTIVE_WEIGHT,
    ERROR,
    EXCEPTIONS,
    GROUP_COLUMNS,
    GROUP_ID,
    GROUP_NAME,
    HI,
    HIGHER_IS_BETTER,
    IS_PRESENT,
    IS_SCORED,
    IS_STALE,
    LABEL,
    LO,
    MAPPING_TYPE,
    MAX_AGE_DAYS,
    MEASURE_COLUMNS,
    MEASURE_ID,
    MEASURE_KEY,
    MIN,
    MIN_COVERAGE,
    MISSING_MEASURES,
    NOT_SCORED,
    OP,
    OVERALL,
    RAW_VALUE,
    REASON,
    RULE_ID,
    SCORE,
    SCORECARD_ID,
    STEPS,
    VALUE,
    VALUE_AS_OF,
    VALUE_ID,
    WEIGHT,
    ScoringResult,
)
from scorecards.engine.exceptions import apply_exceptions, exception_effects, fired_exceptions
from scorecards.engine.mapping import (
    map_raw_values,
    require_columns,
    round_half_up,
    validate_scorecard,
)
from scorecards.engine.rules import (
    biggest_lever,
    coverage_of,
    group_scores,
    largest_remainder_cents,
    lists_per_account,
    overall_scores,
    repeat_ranges,
    scorecard_layout,
)
from scorecards.engine.values import as_nanoseconds, latest_values


# --- The whole run ------------------------------------------------------------------------------
def score_accounts(
    *,
    values: pd.DataFrame,
    measures: pd.DataFrame,
    groups: pd.DataFrame,
    scorecards: pd.DataFrame,
    bands: pd.DataFrame,
    exception_rules: pd.DataFrame,
    assignments: pd.DataFrame,
    as_of: date,
) -> ScoringResult:
    """Score every assigned account on ``as_of`` (rules 1–8). Pure: no input is modified.

    Inputs: the frames described in the module docstring; ``assignments`` holds one row per
    account. Output: a :class:`ScoringResult` (accounts, groups, measures), rows sorted by
    account_id then scorecard order.

    - An account whose scorecard fails :func:`validate_scorecard` gets ``error`` text, band
      "Not scored", NaN scores and coverage, and no group or measure rows; the others are scored.
    - A scorecard missing from ``scorecards`` (or with NaN min_coverage) has min_coverage 0.
    - Not scored (no group present, or coverage < min_coverage — compared on the stored 4-decimal
      coverage): computed/overall NaN, band "Not scored", no biggest lever; group and measure
      scores, coverage and missing_measures are still reported, but every effective weight and
      contribution is 0 because there is no score to contribute to. Exceptions are still
      evaluated and listed, and change nothing.
    - Contributions (2 decimals, largest remainder) add up exactly to ``computed``; after an
      override the exception that set the score carries ``effect`` = overall − computed
      (rule 12), so contributions plus exception effects add up exactly to ``overall``.
    - Exceptions compare the measure's stored (2-decimal) score with the rule's value.
    """
    require_columns(scorecards, [SCORECARD_ID, MIN_COVERAGE], "scorecards")
    require_columns(assignments, [ACCOUNT_ID, SCORECARD_ID], "assignments")
    require_columns(
        exception_rules,
        [SCORECARD_ID, RULE_ID, MEASURE_ID, OP, VALUE, ACTION, BAND, SCORE, REASON],
        "exception_rules",
    )
    require_columns(measures, [MAX_AGE_DAYS, HIGHER_IS_BETTER], "measures")
    if assignments[ACCOUNT_ID].duplicated().any():
        raise ValueError("assignments must hold one row per account")

    assigned = assignments[[ACCOUNT_ID, SCORECARD_ID]].sort_values(ACCOUNT_ID, kind="stable")
    assigned = assigned.reset_index(drop=True)
    problems = validate_scorecard(
        measures,
        groups,
        bands=bands,
        exception_rules=exception_rules,
        scorecard_ids=sorted(set(assigned[SCORECARD_ID].tolist())),
    )
    is_valid = ~assigned[SCORECARD_ID].isin(list(problems))
    valid = assigned[is_valid].reset_index(drop=True)
    rejected = _rejected_accounts(assigned[~is_valid], problems)

    scorecard_ids = sorted(set(valid[SCORECARD_ID].tolist()))
    group_rows, measure_rows = scorecard_layout(measures, groups, scorecard_ids)
    scored = _score_valid(
        values=values,
        group_rows=group_rows,
        measure_rows=measure_rows,
        scorecards=scorecards,
        bands=bands,
        exception_rules=exception_rules,
        accounts=valid,
        scorecard_ids=scorecard_ids,
        as_of=as_of,
    )
    # concat inspects object columns cell by cell, so skip it in the common all-valid case.
    accounts = pd.concat([scored.accounts, rejected]) if len(rejected) else scored.accounts
    accounts = accounts.sort_values(ACCOUNT_ID, kind="stable").reset_index(drop=True)
    accounts = accounts.astype({ACCOUNT_ID: np.int64, SCORECARD_ID: np.int64, IS_SCORED: bool})
    return ScoringResult(accounts=accounts, groups=scored.groups, measures=scored.measures)


def _rejected_accounts(rejected: pd.DataFrame, problems: dict[int, list[str]]) -> pd.DataFrame:
    """Account rows for accounts whose scorecard is invalid: error text, nothing scored."""
    n = len(rejected)
    errors = {
        scorecard_id: f"Scorecard {scorecard_id} is invalid: " + "; ".join(found)
        for scorecard_id, found in problems.items()
    }
    return pd.DataFrame(
        {
            ACCOUNT_ID: rejected[ACCOUNT_ID].to_numpy(),
            SCORECARD_ID: rejected[SCORECARD_ID].to_numpy(),
            COMPUTED: np.full(n, np.nan),
            OVERALL: np.full(n, np.nan),
            BAND: np.full(n, NOT_SCORED, dtype=object),
            COVERAGE: np.full(n, np.nan),
            IS_SCORED: np.zeros(n, dtype=bool),
            MISSING_MEASURES: np.empty((n, 0)).tolist(),  # n distinct empty lists
            EXCEPTIONS: np.empty((n, 0)).tolist(),
            BIGGEST_LEVER_KEY: np.full(n, None, dtype=object),
            BIGGEST_LEVER_GAIN: np.full(n, np.nan),
            ERROR: rejected[SCORECARD_ID].map(errors).to_numpy(dtype=object),
        },
        columns=ACCOUNT_COLUMNS,
    )


@dataclass(frozen=True)
class _Grid:
    """Where each (account, measure) row and (account, group) row comes from.

    measure_row / group_row: index into measure_rows / group_rows; account_of_m / account_of_g:
    account code (position in the sorted accounts); group_of_m: the (account, group) row each
    (account, measure) row belongs to. Rows are in account order, then scorecard order.
    """

    measure_row: np.ndarray
    group_row: np.ndarray
    account_of_m: np.ndarray
    account_of_g: np.ndarray
    group_of_m: np.ndarray


def _grid(
    scorecard_code: np.ndarray,
    measure_rows: pd.DataFrame,
    group_rows: pd.DataFrame,
    scorecard_index: pd.Index,
) -> _Grid:
    """Repeat each account's scorecard rows — vectorised, no loop per account.

    measure_rows and group_rows are sorted by scorecard, so each scorecard owns one contiguous
    block of rows: an account takes the block of its scorecard.
    """
    measure_count = measure_rows.groupby(SCORECARD_ID).size().reindex(scorecard_index)
    measure_count = measure_count.to_numpy(dtype=np.int64)
    group_count = group_rows.groupby(SCORECARD_ID).size().reindex(scorecard_index)
    group_count = group_count.to_numpy(dtype=np.int64)
    measures_per_account = measure_count[scorecard_code]
    groups_per_account = group_count[scorecard_code]
    measure_start = (np.cumsum(measure_count) - measure_count)[scorecard_code]
    group_start = (np.cumsum(group_count) - group_count)[scorecard_code]
    accounts = np.arange(len(scorecard_code))
    measure_row = repeat_ranges(measure_start, measures_per_account)
    account_of_m = np.repeat(accounts, measures_per_account)
    first_group_of_account = np.cumsum(groups_per_account) - groups_per_account
    group_local = measure_rows["_group_local"].to_numpy()[measure_row]
    return _Grid(
        measure_row=measure_row,
        group_row=repeat_ranges(group_start, groups_per_account),
        account_of_m=account_of_m,
        account_of_g=np.repeat(accounts, groups_per_account),
        group_of_m=first_group_of_account[account_of_m] + group_local,
    )


def _score_valid(
    *,
    values: pd.DataFrame,
    group_rows: pd.DataFrame,
    measure_rows: pd.DataFrame,
    scorecards: pd.DataFrame,
    bands: pd.DataFrame,
    exception_rules: pd.DataFrame,
    accounts: pd.DataFrame,
    scorecard_ids: list[int],
    as_of: date,
) -> ScoringResult:
    """Rules 2–8 for accounts (sorted by account_id) whose scorecards are valid.

    Works on flat numpy arrays: one row per (account, scorecard measure) laid out in scorecard
    order, one row per (account, group); per-group and per-account sums are ``np.bincount``
    over integer codes, so the cost grows linearly with the number of rows.
    """
    n_accounts = len(accounts)
    scorecard_index = pd.Index(scorecard_ids)
    scorecard_code = scorecard_index.get_indexer(accounts[SCORECARD_ID])
    grid = _grid(scorecard_code, measure_rows, group_rows, scorecard_index)
    layout_m, layout_g = grid.measure_row, grid.group_row
    account_of_m, account_of_g, group_of_m = grid.account_of_m, grid.account_of_g, grid.group_of_m

    def per_row(column: str) -> np.ndarray:
        """A measure_rows column repeated onto the (account, measure) rows."""
        return measure_rows[column].to_numpy()[layout_m]

    account_ids = accounts[ACCOUNT_ID].to_numpy()
    row_account_id = account_ids[account_of_m]
    row_measure_id = per_row(MEASURE_ID)
    row_key = per_row(MEASURE_KEY)
    n_rows = len(layout_m)

    # Rule 2: the latest value on or before as_of, stale beyond the measure's max age.
    # Values of other accounts or measures find no grid row in the merge and drop out.
    latest = latest_values(values, as_of=as_of).drop(columns=VALUE_ID)
    found = pd.DataFrame({ACCOUNT_ID: row_account_id, MEASURE_ID: row_measure_id}).merge(
        latest, on=[ACCOUNT_ID, MEASURE_ID], how="left", validate="many_to_one"
    )
    raw = found[RAW_VALUE].to_numpy(dtype=float, na_value=np.nan)
    value_as_of = as_nanoseconds(found[AS_OF]).view("datetime64[ns]")
    has_value = ~np.isnan(raw)
    today = pd.Timestamp(as_of).as_unit("ns").value
    age_days = (today - as_nanoseconds(found[AS_OF])) // DAY_NS
    max_age = measure_rows[MAX_AGE_DAYS].to_numpy(dtype=float, na_value=np.nan)[layout_m]
    # "older than the max age" is strict: a value exactly max_age_days old still counts.
    is_stale = has_value & (age_days > max_age)  # NaN max age compares False: never stale
    is_present = has_value & ~is_stale

    # Rule 1 on the rows that have a value (stale ones too: their score is still reported).
    score = np.full(n_rows, np.nan)
    with_value = np.flatnonzero(has_value)
    mapping = [SCORECARD_ID, MEASURE_ID, MAPPING_TYPE, LO, HI, HIGHER_IS_BETTER, STEPS]
    to_map = measure_rows[mapping].iloc[layout_m[with_value]].reset_index(drop=True)
    mapped = map_raw_values(to_map.assign(**{RAW_VALUE: raw[with_value]}))
    score[with_value] = mapped.to_numpy()

    # Rules 3–5.
    n_group_rows = len(layout_g)
    weight = per_row(WEIGHT).astype(float)
    group_score, present_weight_in_group = group_scores(
        weight, score, is_present, group_of_m, n_group_rows
    )
    group_weight = group_rows[WEIGHT].to_numpy(dtype=float)[layout_g]
    overall_exact, present_group_weight = overall_scores(
        group_weight, group_score, account_of_g, n_accounts
    )
    coverage = coverage_of(per_row("_nominal"), is_present, account_of_m, n_accounts)
    min_coverage = (
        scorecards.drop_duplicates(SCORECARD_ID)
        .set_index(SCORECARD_ID)[MIN_COVERAGE]
        .astype(float)
        .reindex(scorecard_index)
        .fillna(0.0)
        .to_numpy()
    )
    is_scored = ~np.isnan(overall_exact) & (coverage >= min_coverage[scorecard_code])
    computed = np.where(is_scored, round_half_up(overall_exact), np.nan)

    # Rule 6: effective weights, contributions and the biggest lever (scored accounts only).
    is_counted = is_present & is_scored[account_of_m]
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.where(
            is_counted,
            group_weight[group_of_m]
            / present_group_weight[account_of_m]
            * weight
            / present_weight_in_group[group_of_m],
            0.0,
        )
    key_rank = pd.factorize(measure_rows[MEASURE_KEY], sort=True)[0][layout_m]
    counted = np.flatnonzero(is_counted)
    cents = np.zeros(n_rows, dtype=np.int64)
    total_cents = np.nan_to_num(np.round(computed * 100.0)).astype(np.int64)
    cents[counted] = largest_remainder_cents(
        effective[counted] * score[counted], account_of_m[counted], total_cents, key_rank[counted]
    )
    lever_row, lever_gain = biggest_lever(
        effective[counted] * (100.0 - score[counted]),
        account_of_m[counted],
        key_rank[counted],
        n_accounts,
    )
    lever_key = np.full(n_accounts, None, dtype=object)
    has_lever = lever_row >= 0
    lever_key[has_lever] = row_key[counted[lever_row[has_lever]]]

    # Rule 7 and rule 8.
    band_rows = bands[bands[SCORECARD_ID].isin(scorecard_ids)]
    band_rows = band_rows.sort_values([SCORECARD_ID, MIN, LABEL], kind="stable")
    band_rows = band_rows.reset_index(drop=True)
    band_mins = [
        band_rows.loc[band_rows[SCORECARD_ID] == scorecard_id, MIN].to_numpy(dtype=float)
        for scorecard_id in scorecard_ids
    ]
    stored_score = round_half_up(score)
    fired = fired_exceptions(
        exception_rules=exception_rules,
        scorecard_ids=scorecard_ids,
        row_account=account_of_m,
        row_scorecard=per_row(SCORECARD_ID),
        row_measure=row_measure_id,
        row_score=stored_score,
        is_present=is_present,
    )
    overall, band_rank = apply_exceptions(
        computed=computed,
        scorecard_code=scorecard_code,
        band_mins=band_mins,
        band_rows=band_rows,
        fired=fired,
    )
    band_count = np.array([len(mins) for mins in band_mins], dtype=np.int64)
    band_start = np.cumsum(band_count) - band_count
    band = np.full(n_accounts, NOT_SCORED, dtype=object)
    ranked = band_rank >= 0
    labels = band_rows[LABEL].to_numpy(dtype=object)
    band[ranked] = labels[band_start[scorecard_code[ranked]] + band_rank[ranked]]

    # Rule 12: the override that set the score is a line of the breakdown, worth
    # overall − computed; every other fired rule is worth 0 points.
    effects = exception_effects(fired=fired, computed=computed, overall=overall)
    exception_records = np.empty(len(fired), dtype=object)
    exception_records[:] = [
        {RULE_ID: int(rule_id), REASON: reason, ACTION: action, EFFECT: float(effect)}
        for rule_id, reason, action, effect in zip(
            fired[RULE_ID], fired[REASON], fired[ACTION], effects.tolist(), strict=True
        )
    ]
    missing = np.flatnonzero(~is_present)
    account_frame = pd.DataFrame(
        {
            ACCOUNT_ID: account_ids,
            SCORECARD_ID: accounts[SCORECARD_ID].to_numpy(),
            COMPUTED: computed,
            OVERALL: overall,
            BAND: band,
            COVERAGE: coverage,
            IS_SCORED: is_scored,
            MISSING_MEASURES: lists_per_account(
                row_key[missing],
                account_of_m[missing],
                n_accounts,
            ),
            EXCEPTIONS: lists_per_account(
                exception_records, fired["_account"].to_numpy(), n_accounts
            ),
            BIGGEST_LEVER_KEY: lever_key,
            BIGGEST_LEVER_GAIN: lever_gain,
            ERROR: np.full(n_accounts, None, dtype=object),
        },
        columns=ACCOUNT_COLUMNS,
    )

    group_scored = is_scored[account_of_g] & ~np.isnan(group_score)
    with np.errstate(invalid="ignore", divide="ignore"):
        group_effective = np.where(
            group_scored, group_weight / present_group_weight[account_of_g], 0.0
        )
    group_frame = pd.DataFrame(
        {
            ACCOUNT_ID: account_ids[account_of_g],
            GROUP_ID: group_rows[GROUP_ID].to_numpy()[layout_g],
            GROUP_NAME: group_rows[GROUP_NAME].to_numpy(dtype=object)[layout_g],
            WEIGHT: group_weight,
            SCORE: round_half_up(group_score),
            EFFECTIVE_WEIGHT: np.round(group_effective, 6),
        },
        columns=GROUP_COLUMNS,
    )
    measure_frame = pd.DataFrame(
        {
            ACCOUNT_ID: row_account_id,
            MEASURE_ID: row_measure_id,
            MEASURE_KEY: row_key,
            GROUP_ID: per_row(GROUP_ID),
            RAW_VALUE: raw,
            VALUE_AS_OF: value_as_of,
            SCORE: stored_score,
            IS_STALE: is_stale,
            IS_PRESENT: is_present,
            WEIGHT: weight,
            EFFECTIVE_WEIGHT: np.round(effective, 6),
            CONTRIBUTION: cents / 100.0,
        },
        columns=MEASURE_COLUMNS,
    )
    return ScoringResult(accounts=account_frame, groups=group_frame, measures=measure_frame)
