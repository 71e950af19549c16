import datetime as dt

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from scorecards import selectors
from tests.accounts.factories import AccountFactory
from tests.scorecards.factories import MeasureFactory, MeasureValueFactory

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def history(db):
    """Two accounts, two measures: a longer history, a tie on the same day from two
    sources, a value after the day, and a pair with nothing on or before the day."""
    first, second = AccountFactory(), AccountFactory()
    adoption, nps = MeasureFactory(key="m_adoption"), MeasureFactory(key="m_nps")
    for days_back, raw in ((30, 10.0), (10, 20.0), (1, 30.0)):
        MeasureValueFactory(
            account=first, measure=adoption, raw_value=raw, as_of=AS_OF - dt.timedelta(days_back)
        )
    MeasureValueFactory(account=first, measure=nps, raw_value=5.0, as_of=AS_OF, source="api")
    tie_winner = MeasureValueFactory(
        account=first, measure=nps, raw_value=7.0, as_of=AS_OF, source="manual"
    )
    MeasureValueFactory(
        account=first, measure=adoption, raw_value=99.0, as_of=AS_OF + dt.timedelta(days=1)
    )
    MeasureValueFactory(
        account=second, measure=nps, raw_value=1.0, as_of=AS_OF + dt.timedelta(days=2)
    )
    return first, second, adoption, nps, tie_winner


def latest(first, second, strategy):
    frame = selectors.latest_values_frame(
        first_id=first.pk, last_id=second.pk, as_of=AS_OF, strategy=strategy
    )
    return frame.sort_values(["account_id", "measure_id"]).reset_index(drop=True)


def test_latest_values_frame_scan_and_probe_agree(postgres, history):
    first, second, *_ = history
    assert_frame_equal(latest(first, second, "scan"), latest(first, second, "probe"))


def test_latest_values_frame_takes_the_latest_on_or_before_the_day(postgres, history):
    first, second, adoption, nps, tie_winner = history
    frame = latest(first, second, None)
    expected = pd.DataFrame(
        {
            "account_id": [first.pk, first.pk],
            "measure_id": [adoption.pk, nps.pk],
            "raw_value": [30.0, 7.0],
            "as_of": pd.to_datetime([AS_OF - dt.timedelta(days=1), AS_OF]),
        }
    )
    assert_frame_equal(frame.drop(columns="value_id"), expected)
    assert frame["value_id"].iloc[1] == tie_winner.pk
