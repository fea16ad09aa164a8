"""The dates and months the exchange accepts: one range, checked in one place.

Every date of a request, an agreement, a usage report, a token's expiry, a ledger or settlement query, and
every month ``YYYY-MM`` of a settlement run, a period close or a usage report lies between :data:`EARLIEST`
and :data:`LATEST`. The range is wide enough for anything the cooperative books (it was founded long after
2000) and narrow enough that no date arithmetic of the exchange overflows (year 9999 plus a notice period
does), so an input outside it is refused up front with a 422 naming the field, instead of failing later.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import msgspec

from marketplace.booking.calendar import period_bounds, period_of
from marketplace.errors import FieldError, InvalidInput
from marketplace.text import END, worded

#: The first day any date of the API may name.
EARLIEST = dt.date(2000, 1, 1)
#: The last day any date of the API may name.
LATEST = dt.date(2999, 12, 31)
#: The first and last month, ``YYYY-MM``.
FIRST_PERIOD = period_of(EARLIEST)
LAST_PERIOD = period_of(LATEST)
#: A month between FIRST_PERIOD and LAST_PERIOD as a pattern, so that the OpenAPI document states the range
#: (``tests/test_input_limits.py`` checks that it spells exactly the range above).
PERIOD_PATTERN = worded(r"^2\d{3}-(0[1-9]|1[0-2])" + END, f"a month YYYY-MM from {FIRST_PERIOD} to {LAST_PERIOD}")

_RANGE = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"

Period = Annotated[
    str,
    msgspec.Meta(
        pattern=PERIOD_PATTERN,
        description=f"A month, YYYY-MM, from {FIRST_PERIOD} to {LAST_PERIOD}.",
        examples=["2026-11"],
    ),
]

#: A day of an input; its range is checked by the Struct that holds it (msgspec bounds numbers, not dates).
Day = Annotated[dt.date, msgspec.Meta(description=f"A day, YYYY-MM-DD, {_RANGE}.")]
#: An instant of an input (RFC 3339), checked like :data:`Day`.
Moment = Annotated[dt.datetime, msgspec.Meta(description=f"An instant (RFC 3339) on a day {_RANGE}.")]


def _out_of_range(field: str, what: str) -> InvalidInput:
    return InvalidInput(f"{field}: {what}", errors=[FieldError(field=field, message=what)])


def check_date(value: dt.date | None, field: str) -> dt.date | None:
    """``value`` if it lies between EARLIEST and LATEST (or is None); a 422 naming ``field`` otherwise."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise _out_of_range(field, f"must lie {_RANGE}")
    return value


def check_moment(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """``value`` if its day (in UTC, or as written when it names no zone) lies between EARLIEST and LATEST."""
    if value is not None:
        day = (value.astimezone(dt.UTC) if value.tzinfo else value).date()
        if not EARLIEST <= day <= LATEST:
            raise _out_of_range(field, f"must lie {_RANGE}")
    return value


def check_period(period: str, field: str = "period") -> tuple[dt.date, dt.date]:
    """First and last day of the month ``period`` (``YYYY-MM``, FIRST_PERIOD to LAST_PERIOD); 422 otherwise."""
    if re.match(PERIOD_PATTERN, period) is None:
        raise _out_of_range(field, f"must be a month YYYY-MM from {FIRST_PERIOD} to {LAST_PERIOD}")
    return period_bounds(period)
