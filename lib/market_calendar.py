"""Exchange trading days, from exchange-calendars (maintained holiday rules for the world's exchanges)."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import exchange_calendars

from lib.errors import InvalidConfig

DEFAULT_CALENDAR = "XNYS"


@lru_cache(maxsize=16)
def _calendar(name: str, year: int):
    # one calendar per year keeps every date inside the library's bounds, however far from today
    return exchange_calendars.get_calendar(name, start=f"{year}-01-01", end=f"{year}-12-31")


def is_trading_day(day: date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """Whether `calendar` (an ISO MIC such as XNYS or XCME) has a session on `day`.

    Raises:
        InvalidConfig: the calendar name is unknown.
    """
    try:
        sessions = _calendar(calendar, day.year)
    except exchange_calendars.errors.InvalidCalendarName:
        raise InvalidConfig("marketCalendar", "an exchange-calendars name such as XNYS", calendar) from None
    return sessions.is_session(day.isoformat())
