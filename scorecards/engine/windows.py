"""Derived measures: a measure's raw value computed from daily metric values over a time window
(PRODUCT.md "Usage metrics become measures"). Pure pandas: no Django, no clock.

Input frames:

- metric values (``METRIC_VALUE_COLUMNS``): ``account_id, metric, on, value`` — one row per
  account, metric key and date (``on`` is a date or datetime64). Rows outside the windows are
  allowed: those dated before a window tell that the account has data of that metric at all.
- sources (``SOURCE_COLUMNS``): ``measure_id, metric, aggregate, window_days, per_metric,
  per_aggregate, per_window_days, change`` — one row per derived measure; ``per_*`` are None
  (or NaN) when the measure has no divisor.

The rules, for a scoring date D:

- a window of N days is (D − N, D]; aggregates ``sum``, ``avg``, ``min``, ``max``, ``last``
  (the value of the latest date in the window), ``days_with_value`` (dates with a value > 0);
- a window without a value gives no aggregate, except ``sum`` and ``days_with_value``, which
  are 0 when the account has a value of that metric dated before the window;
- ``per`` divides by a second aggregate of its own window ending on the same day; no raw value
  when the divisor is missing or 0;
- ``change`` compares with the window before, (D − 2N, D − N]: (now − previous) / previous, no
  raw value when the previous is missing or 0 (with ``per``, each side is first divided);
- the as_of of a raw value is the latest metric date used, so max age (rule 2) applies to it.

Output of :func:`derived_values` (``DERIVED_COLUMNS``): ``account_id, measure_id, raw_value,
as_of, inputs`` — one row per account and derived measure that has a raw value, sorted by
account_id then measure_id; ``inputs`` says in words what the value was made of, e.g.
"avg active users (28 d) 41 ÷ licensed seats 50 = 0.82".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scorecards.engine.columns import ACCOUNT_ID, AS_OF, MEASURE_ID, RAW_VALUE
from scorecards.engine.mapping import require_columns

METRIC = "metric"
ON = "on"
METRIC_VALUE = "value"
AGGREGATE = "aggregate"
WINDOW_DAYS = "window_days"
PER_METRIC = "per_metric"
PER_AGGREGATE = "per_aggregate"
PER_WINDOW_DAYS = "per_window_days"
IS_CHANGE = "change"
INPUTS = "inputs"
USED_ON = "used_on"

METRIC_VALUE_COLUMNS = [ACCOUNT_ID, METRIC, ON, METRIC_VALUE]
SOURCE_COLUMNS = [
    MEASURE_ID,
    METRIC,
    AGGREGATE,
    WINDOW_DAYS,
    PER_METRIC,
    PER_AGGREGATE,
    PER_WINDOW_DAYS,
    IS_CHANGE,
]
DERIVED_COLUMNS = [ACCOUNT_ID, MEASURE_ID, RAW_VALUE, AS_OF, INPUTS]
WINDOW_COLUMNS = [ACCOUNT_ID, METRIC_VALUE, USED_ON]

SUM, AVG, MIN, MAX, LAST, DAYS_WITH_VALUE = "sum", "avg", "min", "max", "last", "days_with_value"
AGGREGATES = (SUM, AVG, MIN, MAX, LAST, DAYS_WITH_VALUE)
# Aggregates that count what happened: an empty window means "nothing happened" (0) once the
# account is known to send the metric, rather than "we do not know".
ZERO_WHEN_EMPTY = (SUM, DAYS_WITH_VALUE)


def window_start(*, as_of: date, window_days: int) -> date:
    """The last date *before* the window (D − N): the window is (D − N, D]."""
    return as_of - timedelta(days=window_days)


def derivation_first_date(sources: pd.DataFrame, *, as_of: date) -> date:
    """The earliest metric date any window of `sources` reads for D: what a caller must load
    (plus, per account and metric, the latest value before it: see :func:`derived_values`)."""
    spans = [0]
    for source in sources.itertuples(index=False):
        factor = 2 if bool(getattr(source, IS_CHANGE)) else 1
        spans.append(int(getattr(source, WINDOW_DAYS)) * factor)
        per_days = getattr(source, PER_WINDOW_DAYS)
        if _is_set(getattr(source, PER_METRIC)):
            offset = int(getattr(source, WINDOW_DAYS)) if factor == 2 else 0
            spans.append(int(per_days) + offset)
    return as_of - timedelta(days=max(spans) - 1)


@dataclass(frozen=True)
class _MetricRows:
    """One metric's rows as arrays, sorted by account then date (dates normalized to
    midnight): what every window of that metric is cut from."""

    accounts: np.ndarray
    on: np.ndarray
    value: np.ndarray
    has_value: np.ndarray


def _metric_rows(values: pd.DataFrame, metric: str) -> _MetricRows:
    of_metric = (values[METRIC] == metric).to_numpy()
    rows = pd.DataFrame(
        {
            ACCOUNT_ID: values[ACCOUNT_ID].to_numpy()[of_metric],
            ON: pd.to_datetime(values[ON][of_metric]).dt.normalize().to_numpy(),
            METRIC_VALUE: values[METRIC_VALUE].to_numpy(dtype=float, na_value=np.nan)[of_metric],
        }
    )
    # Explicit order: `last` takes the latest date, and equal dates (not expected, one value
    # per account, metric and date) keep the row given last.
    rows = rows.sort_values([ACCOUNT_ID, ON], kind="stable")
    value = rows[METRIC_VALUE].to_numpy()
    return _MetricRows(
        accounts=rows[ACCOUNT_ID].to_numpy(),
        on=rows[ON].to_numpy(),
        value=value,
        has_value=~np.isnan(value),
    )


def window_aggregate(
    values: pd.DataFrame, *, metric: str, aggregate: str, window_days: int, as_of: date
) -> pd.DataFrame:
    """One aggregate of one metric over the window (as_of − window_days, as_of].

    values: ``METRIC_VALUE_COLUMNS``. Returns ``account_id, value, used_on`` (``WINDOW_COLUMNS``)
    for every account with an aggregate, sorted by account_id; ``used_on`` is the latest metric
    date the aggregate rests on (for a 0 from an empty window: the latest date before it).
    """
    require_columns(values, METRIC_VALUE_COLUMNS, "metric values")
    return _window_aggregate(
        _metric_rows(values, metric), aggregate=aggregate, window_days=window_days, as_of=as_of
    )


def _window_aggregate(
    rows: _MetricRows, *, aggregate: str, window_days: int, as_of: date
) -> pd.DataFrame:
    if aggregate not in AGGREGATES:
        raise ValueError(f"Unknown aggregate {aggregate!r}; use one of {', '.join(AGGREGATES)}")
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, not {window_days}")
    accounts, on, value, has_value = rows.accounts, rows.on, rows.value, rows.has_value
    end = np.datetime64(pd.Timestamp(as_of))
    start = np.datetime64(pd.Timestamp(window_start(as_of=as_of, window_days=window_days)))
    in_window = has_value & (on > start) & (on <= end)
    # Cut from rows sorted by account then date: the window's rows keep that order.
    window = pd.DataFrame(
        {ACCOUNT_ID: accounts[in_window], ON: on[in_window], METRIC_VALUE: value[in_window]}
    )
    grouped = window.groupby(ACCOUNT_ID, sort=True)
    if aggregate == DAYS_WITH_VALUE:
        aggregated = (window[METRIC_VALUE] > 0).groupby(window[ACCOUNT_ID], sort=True).sum()
    else:
        how = {SUM: "sum", AVG: "mean", MIN: "min", MAX: "max", LAST: "last"}[aggregate]
        aggregated = grouped[METRIC_VALUE].agg(how)
    found = pd.DataFrame(
        {
            ACCOUNT_ID: aggregated.index.to_numpy(),
            METRIC_VALUE: aggregated.to_numpy(dtype=float),
            USED_ON: grouped[ON].max().to_numpy(),
        }
    )
    if aggregate in ZERO_WHEN_EMPTY:
        before = has_value & (on <= start)
        earlier = (
            pd.DataFrame({ACCOUNT_ID: accounts[before], ON: on[before]})
            .groupby(ACCOUNT_ID, sort=True)[ON]
            .max()
        )
        earlier = earlier[~earlier.index.isin(found[ACCOUNT_ID])]
        zeros = pd.DataFrame(
            {ACCOUNT_ID: earlier.index.to_numpy(), METRIC_VALUE: 0.0, USED_ON: earlier.to_numpy()}
        )
        found = pd.concat([found, zeros], ignore_index=True) if len(zeros) else found
    found = found.astype({METRIC_VALUE: float})
    found[USED_ON] = pd.to_datetime(found[USED_ON])
    return found.sort_values(ACCOUNT_ID, kind="stable").reset_index(drop=True)[WINDOW_COLUMNS]


def _is_set(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _label(*, metric: str, aggregate: str, window_days: int) -> str:
    """How an input is named in words: "avg active users (28 d)", "licensed seats" (the
    last value of one day needs no qualifier), "days with logins (28 d)"."""
    name = metric.replace("_", " ")
    if aggregate == LAST and window_days == 1:
        return name
    word = "days with" if aggregate == DAYS_WITH_VALUE else aggregate
    return f"{word} {name} ({window_days} d)"


def number_words(value: float) -> str:
    """41, 0.82, 1234.5: at most two decimals, no trailing zeros, no "-0"."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _side(
    rows_of: Callable[[str], _MetricRows], source, *, as_of: date
) -> tuple[pd.DataFrame, str, str | None]:
    """The numerator (divided by `per` when set) ending on `as_of`: account_id, value,
    used_on, top, bottom (the aggregates before dividing)."""
    top = _window_aggregate(
        rows_of(getattr(source, METRIC)),
        aggregate=getattr(source, AGGREGATE),
        window_days=int(getattr(source, WINDOW_DAYS)),
        as_of=as_of,
    )
    top_label = _label(
        metric=getattr(source, METRIC),
        aggregate=getattr(source, AGGREGATE),
        window_days=int(getattr(source, WINDOW_DAYS)),
    )
    side = top.rename(columns={METRIC_VALUE: "top"}).assign(bottom=np.nan)
    if not _is_set(getattr(source, PER_METRIC)):
        return side.assign(**{METRIC_VALUE: side["top"]}), top_label, None
    per_aggregate = getattr(source, PER_AGGREGATE) or LAST
    per_days = int(getattr(source, PER_WINDOW_DAYS) or 1)
    bottom = _window_aggregate(
        rows_of(getattr(source, PER_METRIC)),
        aggregate=per_aggregate,
        window_days=per_days,
        as_of=as_of,
    ).rename(columns={METRIC_VALUE: "bottom", USED_ON: "per_used_on"})
    side = side.drop(columns="bottom").merge(bottom, on=ACCOUNT_ID, how="inner")
    side = side[side["bottom"] != 0]  # no raw value when the divisor is 0
    side = side.assign(
        **{
            METRIC_VALUE: side["top"] / side["bottom"],
            USED_ON: side[[USED_ON, "per_used_on"]].max(axis=1),
        }
    ).drop(columns="per_used_on")
    per_label = _label(
        metric=getattr(source, PER_METRIC), aggregate=per_aggregate, window_days=per_days
    )
    return side, top_label, per_label


def _words(top: float, bottom: float, top_label: str, per_label: str | None) -> str:
    if per_label is None:
        return f"{top_label} {number_words(top)}"
    return f"{top_label} {number_words(top)} ÷ {per_label} {number_words(bottom)}"


def derived_values(values: pd.DataFrame, sources: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Every derived measure's raw value on `as_of` for every account that has one.

    values: ``METRIC_VALUE_COLUMNS``, at least every row dated from
    :func:`derivation_first_date` to `as_of` and, for ``sum`` and ``days_with_value``, one row
    before the window where the account has one. sources: ``SOURCE_COLUMNS``.
    Returns ``DERIVED_COLUMNS`` (see the module docstring).
    """
    require_columns(values, METRIC_VALUE_COLUMNS, "metric values")
    require_columns(sources, SOURCE_COLUMNS, "sources")

    @functools.cache
    def rows_of(metric: str) -> _MetricRows:  # each metric's rows cut out once, not per window
        return _metric_rows(values, metric)

    parts = []
    for source in sources.sort_values(MEASURE_ID, kind="stable").itertuples(index=False):
        now, top_label, per_label = _side(rows_of, source, as_of=as_of)
        if bool(getattr(source, IS_CHANGE)):
            before = as_of - timedelta(days=int(getattr(source, WINDOW_DAYS)))
            previous, _, _ = _side(rows_of, source, as_of=before)
            both = now.merge(previous, on=ACCOUNT_ID, how="inner", suffixes=("", "_previous"))
            both = both[both[f"{METRIC_VALUE}_previous"] != 0]
            raw = (both[METRIC_VALUE] - both[f"{METRIC_VALUE}_previous"]) / both[
                f"{METRIC_VALUE}_previous"
            ]
            used_on = both[[USED_ON, f"{USED_ON}_previous"]].max(axis=1)
            inputs = [
                f"{_words(t, b, top_label, per_label)} against {number_words(p)} "
                f"the {int(getattr(source, WINDOW_DAYS))} d before: change = {number_words(r)}"
                for t, b, p, r in zip(
                    both["top"], both["bottom"], both[f"{METRIC_VALUE}_previous"], raw, strict=True
                )
            ]
            frame = pd.DataFrame(
                {
                    ACCOUNT_ID: both[ACCOUNT_ID].to_numpy(),
                    RAW_VALUE: raw.to_numpy(dtype=float),
                    AS_OF: used_on.to_numpy(),
                    INPUTS: inputs,
                }
            )
        else:
            inputs = [
                _words(t, b, top_label, per_label)
                + ("" if per_label is None else f" = {number_words(v)}")
                for t, b, v in zip(now["top"], now["bottom"], now[METRIC_VALUE], strict=True)
            ]
            frame = pd.DataFrame(
                {
                    ACCOUNT_ID: now[ACCOUNT_ID].to_numpy(),
                    RAW_VALUE: now[METRIC_VALUE].to_numpy(dtype=float),
                    AS_OF: now[USED_ON].to_numpy(),
                    INPUTS: inputs,
                }
            )
        parts.append(frame.assign(**{MEASURE_ID: getattr(source, MEASURE_ID)}))
    if not parts:
        empty = pd.DataFrame({column: [] for column in DERIVED_COLUMNS})
        empty[AS_OF] = pd.to_datetime(empty[AS_OF])
        return empty.astype({ACCOUNT_ID: "int64", MEASURE_ID: "int64", RAW_VALUE: float})
    derived = pd.concat(parts, ignore_index=True)[DERIVED_COLUMNS]
    derived[AS_OF] = pd.to_datetime(derived[AS_OF])
    derived = derived.astype({RAW_VALUE: float})
    return derived.sort_values([ACCOUNT_ID, MEASURE_ID], kind="stable").reset_index(drop=True)
