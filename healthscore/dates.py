"""The dates the product accepts: from 1900-01-01 to 2199-12-31.

Every date that comes in (a measure value's as_of, a renewal date, a contact's departure, a
touchpoint, a date asked for in a query) must lie in this window. Outside it a date is a bad
row or a 400, never stored: the scoring engine works in pandas datetimes, which cannot hold
year 1 (nor anything before 1677 or after 2262), and a date before 1900 is a typing mistake
in customer-success data. Reads guard themselves too (see scorecards.engine.days), so a value
stored before this rule never turns a page into a 500.
"""

from datetime import UTC, date, datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)

# The window as the OpenAPI schema states it: OpenAPI 3.0 has no minimum for a date, so a
# pattern keeps the years to 1900–2199 (tests/healthscore/test_dates.py holds it to the
# two constants).
DATE_PATTERN = r"^(19\d\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


def date_out_of_range_message(value: date) -> str | None:
    """Why `value` is refused, or None when it lies in the window."""
    if EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return (
        f"{value.isoformat()} is outside the dates Healthscore accepts "
        f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})."
    )


def moment_in_utc(moment: datetime) -> datetime:
    """An aware moment in UTC. RFC 3339 offsets reach ±23:59, PostgreSQL's only ±15:59, so a
    moment is compared in UTC; one that UTC cannot hold (year 1 ahead of UTC, 9999 behind)
    becomes the earliest or latest moment there is."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == datetime.min.year else datetime.max).replace(
            tzinfo=UTC
        )


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN})
class BoundedDateField(serializers.DateField):
    """A YYYY-MM-DD date inside [EARLIEST_DATE, LATEST_DATE]; anything else is a 400."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        problem = date_out_of_range_message(parsed)
        if problem:
            raise serializers.ValidationError(problem, code="date_out_of_range")
        return parsed
