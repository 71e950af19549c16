"""Rule 2: which value counts for date D (the latest with as_of ≤ D; older than max age is
stale, and stale counts as missing)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scorecards.engine.columns import (
    ACCOUNT_ID,
    AS_OF,
    DAY_NS,
    MEASURE_ID,
    NAT,
    RAW_VALUE,
    VALUE_ID,
)
from scorecards.engine.mapping import require_columns


# --- Rule 2: which value counts -----------------------------------------------------------------
def latest_values(values: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Rule 2: the latest value per (account, measure) with as_of ≤ the scoring date.

    Input: ``account_id, measure_id, raw_value, as_of, value_id``. Values dated after ``as_of``
    and values without a raw number are ignored; on equal as_of the higher value_id wins.
    Output: ``account_id, measure_id, raw_value, as_of, value_id`` sorted by account_id,
    measure_id. Staleness is judged by :func:`score_accounts`, which knows each max age.

    History is large (one row per account, measure and day), so instead of sorting it this
    packs (day, value_id) into one int64 whose maximum per (account, measure) marks the winning
    row, found with ``np.maximum.at``; only the winners get sorted. When ids are too wide to
    pack, it falls back to one lexsort of the whole history.
    """
    require_columns(values, [ACCOUNT_ID, MEASURE_ID, RAW_VALUE, AS_OF, VALUE_ID], "values")
    columns = [ACCOUNT_ID, MEASURE_ID, RAW_VALUE, AS_OF, VALUE_ID]
    # "< next midnight" rather than "<= D" keeps a value stamped during day D (a time part).
    cutoff = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).as_unit("ns").value
    when = as_nanoseconds(values[AS_OF])
    raw = values[RAW_VALUE].to_numpy(dtype=float, na_value=np.nan)
    is_kept = (when < cutoff) & (when != NAT) & ~np.isnan(raw)
    if not is_kept.any():
        return _take_rows(values, np.zeros(0, dtype=np.int64), columns)
    # Whole columns rather than the kept rows only: compacting 30M rows costs more than it saves.
    account = values[ACCOUNT_ID].to_numpy()
    measure = values[MEASURE_ID].to_numpy()
    value_id = values[VALUE_ID].to_numpy().astype(np.int64, copy=False)
    day = when // DAY_NS
    kept_day = day[is_kept]
    day_low, day_high = int(kept_day.min()), int(kept_day.max())
    # Over every row, not just the kept ones: a wider range is still correct, and cheaper.
    id_low, id_high = int(value_id.min()), int(value_id.max())
    id_bits = (id_high - id_low).bit_length()

    if (day_high - day_low).bit_length() + id_bits <= 62:
        pair, n_pairs = _pair_codes(account, measure)
        recency = day - day_low
        recency <<= id_bits
        recency |= value_id - id_low
        np.copyto(recency, -1, where=~is_kept)  # a dropped row never beats a kept one
        best = np.full(n_pairs, -1, dtype=np.int64)
        np.maximum.at(best, pair, recency)
        winners = np.flatnonzero((recency == best[pair]) & is_kept)
        winners = winners[np.lexsort((measure[winners], account[winners]))]
        # value_id should be unique; if one repeats on a pair's latest day, keep one row.
        is_first = np.ones(len(winners), dtype=bool)
        is_first[1:] = (account[winners[1:]] != account[winners[:-1]]) | (
            measure[winners[1:]] != measure[winners[:-1]]
        )
        winners = winners[is_first]
    else:
        kept = np.flatnonzero(is_kept)
        order = kept[np.lexsort((value_id[kept], day[kept], measure[kept], account[kept]))]
        is_last = np.ones(len(order), dtype=bool)
        is_last[:-1] = (account[order[1:]] != account[order[:-1]]) | (
            measure[order[1:]] != measure[order[:-1]]
        )
        winners = order[is_last]
    return _take_rows(values, winners, columns)


def _take_rows(frame: pd.DataFrame, positions: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """Rows by position, only ``columns``, column by column: ``frame[columns]`` would copy the
    whole history first, and a 2-D ``iloc`` is several times slower on a large frame."""
    return pd.DataFrame({column: frame[column].to_numpy()[positions] for column in columns})


def as_nanoseconds(when: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds (NaT = int64 min), without copying datetime64[ns] data."""
    if not pd.api.types.is_datetime64_any_dtype(when):
        when = pd.to_datetime(when)
    return when.to_numpy().astype("datetime64[ns]", copy=False).view(np.int64)


def _pair_codes(account: np.ndarray, measure: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense int code per (account, measure) pair, and the number of codes.

    Database ids are mostly dense, so offsets from the smallest id give a small code space at
    the cost of one subtraction; sparse ids fall back to hashing (pd.factorize).
    """
    account_low, measure_low = int(account.min()), int(measure.min())
    account_span = int(account.max()) - account_low + 1
    measure_span = int(measure.max()) - measure_low + 1
    if account_span * measure_span <= 4 * len(account) + 1024:
        code = account.astype(np.int64)  # a fresh array, so the in-place steps below are safe
        code -= account_low
        code *= measure_span
        code += measure
        code -= measure_low
        return code, account_span * measure_span
    account_code, accounts = pd.factorize(account)
    measure_code, measures = pd.factorize(measure)
    code = account_code.astype(np.int64) * len(measures) + measure_code
    return code, len(accounts) * len(measures)
