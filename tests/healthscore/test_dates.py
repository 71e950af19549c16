import re
from datetime import UTC, datetime, timedelta

from healthscore.dates import DATE_PATTERN, EARLIEST_DATE, LATEST_DATE, moment_in_utc


def test_date_pattern_states_the_accepted_window():
    inside = [EARLIEST_DATE, LATEST_DATE]
    outside = [EARLIEST_DATE - timedelta(days=1), LATEST_DATE + timedelta(days=1)]
    assert [bool(re.match(DATE_PATTERN, day.isoformat())) for day in inside + outside] == [
        True,
        True,
        False,
        False,
    ]


def test_moment_in_utc_takes_an_offset_postgresql_cannot():
    given = datetime.fromisoformat("0516-02-18T02:26:39-23:22")
    assert moment_in_utc(given) == datetime(516, 2, 19, 1, 48, 39, tzinfo=UTC)


def test_moment_in_utc_before_the_first_moment_utc_holds_is_the_first():
    given = datetime.fromisoformat("0001-01-01T00:00:00+05:00")
    assert moment_in_utc(given) == datetime.min.replace(tzinfo=UTC)
