"""Derived measures' window maths (PRODUCT.md "Usage metrics become measures"), worked by hand."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from scorecards import engine

D = date(2026, 11, 28)


def _values(rows):
    """rows: (account_id, metric, "YYYY-MM-DD", value)."""
    return pd.DataFrame(rows, columns=engine.METRIC_VALUE_COLUMNS).assign(
        on=lambda frame: pd.to_datetime(frame["on"])
    )


def _source(measure_id=1, metric="logins", aggregate="sum", window_days=7, per=None, change=False):
    per = per or (None, None, None)
    return pd.DataFrame(
        [(measure_id, metric, aggregate, window_days, *per, change)],
        columns=engine.SOURCE_COLUMNS,
    )


# Account 1: logins on the window's edges and inside; account 2: only before the window.
LOGINS = _values(
    [
        (1, "logins", "2026-11-21", 100.0),  # D − 7: just outside (D − 7, D]
        (1, "logins", "2026-11-22", 5.0),  # first day inside
        (1, "logins", "2026-11-24", 0.0),  # a zero is a value
        (1, "logins", "2026-11-26", 3.0),  # gap on 23, 25, 27
        (1, "logins", "2026-11-28", 8.0),  # D itself: inside
        (1, "logins", "2026-11-29", 50.0),  # after D: ignored
        (2, "logins", "2026-11-10", 4.0),  # before the window only
        (1, "seats", "2026-11-28", 10.0),  # another metric: ignored
    ]
)


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [
        ("sum", 16.0),  # 5 + 0 + 3 + 8
        ("avg", 4.0),  # 16 / 4 values (gaps are not zeros)
        ("min", 0.0),
        ("max", 8.0),
        ("last", 8.0),  # the value of the latest date in the window, D
        ("days_with_value", 3.0),  # 22, 26, 28 have a value > 0; 24 has 0
    ],
)
def test_window_aggregate_every_aggregate_over_the_window(aggregate, expected):
    found = engine.window_aggregate(
        LOGINS, metric="logins", aggregate=aggregate, window_days=7, as_of=D
    )
    account_1 = found[found["account_id"] == 1]
    assert account_1["value"].tolist() == [expected]
    assert account_1["used_on"].tolist() == [pd.Timestamp("2026-11-28")]


@pytest.mark.parametrize(("aggregate", "expected"), [("sum", [0.0]), ("days_with_value", [0.0])])
def test_window_aggregate_sum_and_days_are_zero_after_earlier_values(aggregate, expected):
    found = engine.window_aggregate(
        LOGINS, metric="logins", aggregate=aggregate, window_days=7, as_of=D
    )
    account_2 = found[found["account_id"] == 2]
    assert account_2["value"].tolist() == expected
    # The 0 rests on the value of 10 November: max age counts from there.
    assert account_2["used_on"].tolist() == [pd.Timestamp("2026-11-10")]


@pytest.mark.parametrize("aggregate", ["avg", "min", "max", "last"])
def test_window_aggregate_empty_window_has_no_value(aggregate):
    found = engine.window_aggregate(
        LOGINS, metric="logins", aggregate=aggregate, window_days=7, as_of=D
    )
    assert found["account_id"].tolist() == [1]


def test_window_aggregate_no_value_ever_has_no_sum():
    found = engine.window_aggregate(
        LOGINS, metric="reports_run", aggregate="sum", window_days=7, as_of=D
    )
    assert len(found) == 0


def test_window_aggregate_one_day_window_is_the_day_itself():
    found = engine.window_aggregate(
        LOGINS, metric="logins", aggregate="last", window_days=1, as_of=date(2026, 11, 27)
    )
    # (26, 27]: nothing on 27, so no value, although 26 has one.
    assert found["account_id"].tolist() == []


def test_window_aggregate_last_is_latest_date_not_latest_row():
    values = _values([(1, "seats", "2026-11-28", 50.0), (1, "seats", "2026-11-20", 40.0)])
    found = engine.window_aggregate(
        values, metric="seats", aggregate="last", window_days=28, as_of=D
    )
    assert found["value"].tolist() == [50.0]


def test_derived_values_per_divides_and_says_so():
    values = _values(
        [
            (1, "active_users", "2026-11-26", 40.0),
            (1, "active_users", "2026-11-27", 42.0),
            (1, "licensed_seats", "2026-11-28", 50.0),
        ]
    )
    sources = _source(
        metric="active_users", aggregate="avg", window_days=28, per=("licensed_seats", "last", 1)
    )
    derived = engine.derived_values(values, sources, as_of=D)
    expected = pd.DataFrame(
        {
            "account_id": [1],
            "measure_id": [1],
            "raw_value": [0.82],  # (40 + 42) / 2 = 41; 41 / 50 = 0.82
            "as_of": pd.to_datetime(["2026-11-28"]),  # the latest date used: the seats
            "inputs": ["avg active users (28 d) 41 ÷ licensed seats 50 = 0.82"],
        }
    )
    assert_frame_equal(derived, expected)


@pytest.mark.parametrize("seats", [None, 0.0])
def test_derived_values_per_missing_or_zero_gives_no_value(seats):
    rows = [(1, "active_users", "2026-11-27", 42.0)]
    if seats is not None:
        rows.append((1, "licensed_seats", "2026-11-28", seats))
    sources = _source(
        metric="active_users", aggregate="avg", window_days=28, per=("licensed_seats", "last", 1)
    )
    assert len(engine.derived_values(_values(rows), sources, as_of=D)) == 0


def test_derived_values_change_against_previous_window():
    values = _values(
        [
            (
                1,
                "logins",
                "2026-11-14",
                10.0,
            ),  # D − 14: outside (D − 14, D − 7]
            (1, "logins", "2026-11-15", 20.0),  # previous window (D − 14, D − 7]
            (1, "logins", "2026-11-21", 20.0),  # D − 7: previous window's last day
            (1, "logins", "2026-11-25", 30.0),  # current window (D − 7, D]
            (1, "logins", "2026-11-27", 30.0),
        ]
    )
    derived = engine.derived_values(values, _source(aggregate="sum", change=True), as_of=D)
    # now = 30 + 30 = 60; previous = 20 + 20 = 40 (14 Nov is outside); (60 − 40) / 40 = 0.5
    assert derived["raw_value"].tolist() == [0.5]
    assert derived["as_of"].tolist() == [pd.Timestamp("2026-11-27")]
    assert derived["inputs"].tolist() == [
        "sum logins (7 d) 60 against 40 the 7 d before: change = 0.5"
    ]


def test_derived_values_change_with_previous_zero_gives_no_value():
    values = _values([(1, "logins", "2026-11-10", 0.0), (1, "logins", "2026-11-27", 6.0)])
    # previous window (14, 21]: empty but an earlier value exists, so sum = 0: no division.
    derived = engine.derived_values(values, _source(aggregate="sum", change=True), as_of=D)
    assert len(derived) == 0


def test_derived_values_change_falls_to_minus_one_when_usage_stops():
    values = _values([(1, "logins", "2026-11-18", 12.0)])
    derived = engine.derived_values(values, _source(aggregate="sum", change=True), as_of=D)
    # now: empty, but 18 Nov is before the window, so 0; previous = 12; (0 − 12) / 12 = −1
    assert derived["raw_value"].tolist() == [-1.0]
    assert derived["as_of"].tolist() == [pd.Timestamp("2026-11-18")]


def test_derived_values_as_of_lets_max_age_make_a_sum_stale():
    # No login for 40 days: the 0 is dated 18 October, so a max age of 30 makes it stale.
    values = _values([(1, "logins", "2026-10-19", 3.0)])
    derived = engine.derived_values(values, _source(aggregate="sum", window_days=28), as_of=D)
    assert derived["raw_value"].tolist() == [0.0]
    measures = pd.DataFrame(
        [
            {
                "scorecard_id": 1,
                "group_id": 1,
                "measure_id": 1,
                "measure_key": "logins_28d",
                "weight": 1.0,
                "mapping_type": "linear",
                "lo": 0.0,
                "hi": 10.0,
                "higher_is_better": True,
                "steps": None,
                "max_age_days": 30.0,
            }
        ]
    )
    result = engine.score_accounts(
        values=derived.assign(value_id=1)[
            ["account_id", "measure_id", "raw_value", "as_of", "value_id"]
        ],
        measures=measures,
        groups=pd.DataFrame(
            [
                {
                    "scorecard_id": 1,
                    "group_id": 1,
                    "group_name": "Usage",
                    "weight": 1.0,
                    "position": 0,
                }
            ]
        ),
        scorecards=pd.DataFrame([{"scorecard_id": 1, "min_coverage": 0.0}]),
        bands=pd.DataFrame([{"scorecard_id": 1, "label": "Red", "min": 0.0}]),
        exception_rules=pd.DataFrame(
            columns=[
                "scorecard_id",
                "rule_id",
                "measure_id",
                "op",
                "value",
                "action",
                "band",
                "score",
                "reason",
            ]
        ),
        assignments=pd.DataFrame([{"account_id": 1, "scorecard_id": 1}]),
        as_of=D,
    )
    # D − 19 Oct = 40 days > 30: stale, so the account is not scored.
    assert result.measures["is_stale"].tolist() == [True]
    assert result.accounts["overall"].isna().tolist() == [True]


def test_derived_values_days_with_value_words():
    values = _values([(1, "reports_run", "2026-11-20", 2.0), (1, "reports_run", "2026-11-27", 0.0)])
    derived = engine.derived_values(
        values, _source(metric="reports_run", aggregate="days_with_value", window_days=28), as_of=D
    )
    assert derived["raw_value"].tolist() == [1.0]
    assert derived["inputs"].tolist() == ["days with reports run (28 d) 1"]


def test_derived_values_one_row_per_account_and_measure_sorted():
    values = _values([(2, "logins", "2026-11-27", 1.0), (1, "logins", "2026-11-27", 2.0)])
    sources = pd.concat(
        [_source(measure_id=9, aggregate="max"), _source(measure_id=3, aggregate="min")]
    )
    derived = engine.derived_values(values, sources, as_of=D)
    assert derived[["account_id", "measure_id", "raw_value"]].values.tolist() == [
        [1, 3, 2.0],
        [1, 9, 2.0],
        [2, 3, 1.0],
        [2, 9, 1.0],
    ]


def test_derived_values_no_sources_is_empty():
    derived = engine.derived_values(LOGINS, _source().iloc[0:0], as_of=D)
    assert list(derived.columns) == engine.DERIVED_COLUMNS
    assert len(derived) == 0


def test_derivation_first_date_covers_change_and_per():
    sources = pd.concat(
        [
            _source(window_days=28, change=True),  # reads (D − 56, D]
            _source(window_days=7, per=("seats", "avg", 30)),  # reads (D − 30, D]
        ]
    )
    # 28 Nov − 56 d = 3 Oct, outside the window; the first date read is 4 October
    assert engine.derivation_first_date(sources, as_of=D) == date(2026, 10, 4)


def test_number_words():
    assert [engine.number_words(x) for x in (41.0, 0.8214, -0.0, 1234.5, np.float64(2))] == [
        "41",
        "0.82",
        "0",
        "1,234.5",
        "2",
    ]


def test_window_aggregate_rejects_unknown_aggregate():
    with pytest.raises(ValueError, match="Unknown aggregate 'median'"):
        engine.window_aggregate(LOGINS, metric="logins", aggregate="median", window_days=7, as_of=D)
