"""The pure rule functions on hand-made frames (no database)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from risk import engine
from risk.engine import RuleSettings

AS_OF = dt.date(2026, 11, 20)
NAT = pd.NaT


def inputs(**columns) -> pd.DataFrame:
    """One account (id 1) with nothing on record, except the given columns."""
    row = {
        engine.ACCOUNT_ID: 1,
        engine.RENEWAL_DATE: NAT,
        engine.SNAPSHOT_AS_OF: NAT,
        engine.OVERALL: np.nan,
        engine.BAND: None,
        engine.IS_RED: False,
        engine.PREVIOUS_AS_OF: NAT,
        engine.PREVIOUS_BAND: None,
        engine.PREVIOUS_IS_RED: np.nan,
        engine.EARLIER_AS_OF: NAT,
        engine.EARLIER_OVERALL: np.nan,
        engine.SENTIMENT_SCORE: np.nan,
        engine.SENTIMENT_AS_OF: NAT,
        engine.EXECUTIVE_SPONSORS: 1,
        engine.SPONSORS: 1,
        engine.LAST_SPONSOR_TOUCH_ON: pd.Timestamp(AS_OF),
        engine.TOUCHED_CONTACTS: 2,
        engine.HANDLED_CHANGE_ID: 0,
        **columns,
    }
    frame = pd.DataFrame([row])
    for column in engine.DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def moves(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=engine.MOVE_COLUMNS)
    frame[engine.CHANGED_ON] = pd.to_datetime(frame[engine.CHANGED_ON])
    return frame


NO_MOVES = moves()
SPONSOR_LEFT = RuleSettings(threshold=None, window_days=None, severity="high")


def test_risk_conditions_for_a_healthy_account_is_empty():
    conditions = engine.risk_conditions(
        inputs(),
        NO_MOVES,
        {risk_type: RuleSettings(None, None, "low") for risk_type in engine.DEFAULT_THRESHOLDS},
        as_of=AS_OF,
    )
    assert_frame_equal(
        conditions,
        pd.DataFrame(columns=engine.CONDITION_COLUMNS).astype(
            {engine.ACCOUNT_ID: "int64", engine.FIRES: bool}
        ),
    )


def test_risk_conditions_refuses_inputs_without_a_column():
    with pytest.raises(ValueError, match=r"inputs lacks columns \['sponsors'\]"):
        engine.risk_conditions(inputs().drop(columns=[engine.SPONSORS]), NO_MOVES, {}, as_of=AS_OF)


def test_risk_conditions_are_sorted_by_account_then_type():
    portfolio = pd.concat(
        [inputs(account_id=2, executive_sponsors=0), inputs(account_id=1, executive_sponsors=0)],
        ignore_index=True,
    ).assign(touched_contacts=[0, 0])
    conditions = engine.risk_conditions(
        portfolio,
        NO_MOVES,
        {
            "single_threaded": RuleSettings(None, None, "low"),
            "no_sponsor": RuleSettings(None, None, "medium"),
        },
        as_of=AS_OF,
    )
    assert list(zip(conditions.account_id, conditions.risk_type, strict=True)) == [
        (1, "no_sponsor"),
        (1, "single_threaded"),
        (2, "no_sponsor"),
        (2, "single_threaded"),
    ]


def test_turned_red_holds_without_firing_while_the_band_stays_red():
    conditions = engine.turned_red(
        inputs(is_red=True, band="Red", previous_is_red=1.0, previous_band="Red"),
        RuleSettings(None, None, "medium"),
    )
    assert conditions[engine.FIRES].tolist() == [False]


def test_sponsor_left_skips_moves_already_handled():
    conditions = engine.sponsor_left(
        inputs(handled_change_id=7),
        moves(
            (1, 7, 70, "Old Sponsor", "left", "executive_sponsor", "2026-10-01"),
            (1, 9, 90, "New Sponsor", "left", "decision_maker", "2026-11-19"),
        ),
        SPONSOR_LEFT,
        as_of=AS_OF,
    )
    assert conditions[engine.EVIDENCE].tolist() == [
        {
            "contact_change_id": 9,
            "contact_id": 90,
            "contact": "New Sponsor",
            "role": "decision_maker",
            "move": "left",
            "changed_on": "2026-11-19",
            "moves": 1,
        }
    ]


def test_sponsor_left_with_a_window_ignores_older_moves():
    conditions = engine.sponsor_left(
        inputs(),
        moves((1, 3, 30, "Old Sponsor", "left", "executive_sponsor", "2026-08-21")),  # 91 days
        RuleSettings(threshold=None, window_days=90, severity="high"),
        as_of=AS_OF,
    )
    assert conditions.empty


def test_empty_threshold_falls_back_to_the_products_default():
    conditions = engine.low_sentiment(
        inputs(sentiment_score=25.0, sentiment_as_of=pd.Timestamp(AS_OF)),
        RuleSettings(threshold=None, window_days=None, severity="high"),
        as_of=AS_OF,
    )
    assert conditions[engine.EVIDENCE].tolist()[0]["threshold"] == 25.0
