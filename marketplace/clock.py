"""The one place that reads the time, so that tests and services agree on it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


#: The members are German public bodies: a "day" is a day in Germany.
LOCAL_ZONE = ZoneInfo("Europe/Berlin")


def today() -> date:
    """Today's date in Germany."""
    return now().astimezone(LOCAL_ZONE).date()
