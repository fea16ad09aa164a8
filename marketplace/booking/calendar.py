"""Month arithmetic for terms and notice periods."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 January + 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def minimum_term_end(start: date, min_term_months: int) -> date:
    """The last day an agreement must run for its minimum term (the start itself for no minimum)."""
    if min_term_months <= 0:
        return start
    return add_months(start, min_term_months) - timedelta(days=1)


def earliest_end(today: date, start: date, notice_months: int, min_term_months: int) -> date:
    """The earliest month's end on which an agreement may end if notice is given today."""
    by_notice = month_end(add_months(today, notice_months))
    by_term = month_end(minimum_term_end(start, min_term_months))
    return max(by_notice, by_term, month_end(start))


def period_of(day: date) -> str:
    """``YYYY-MM`` of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` period."""
    match = PERIOD.match(period)
    if match is None:
        raise ValueError(f"not a period YYYY-MM: {period!r}")
    first = date(int(match[1]), int(match[2]), 1)
    return first, month_end(first)
