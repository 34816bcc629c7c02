"""Exchange trading days, from exchange-calendars (maintained holiday rules for the world's exchanges)."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars

from lib.errors import InvalidConfig

DEFAULT_CALENDAR = "XNYS"
# the trading day of the US markets the strategies trade: a day starts at midnight in New York
MARKET_ZONE = ZoneInfo("America/New_York")


def trading_date(moment: datetime) -> date:
    """The New York calendar day of an aware moment (the gateway's clock)."""
    return moment.astimezone(MARKET_ZONE).date()


@lru_cache(maxsize=16)
def _calendar(name: str, year: int):
    # one calendar per year keeps every date inside the library's bounds, however far from today
    return exchange_calendars.get_calendar(name, start=f"{year}-01-01", end=f"{year}-12-31")


def _sessions(calendar: str, year: int):
    try:
        return _calendar(calendar, year)
    except exchange_calendars.errors.InvalidCalendarName:
        raise InvalidConfig("marketCalendar", "an exchange-calendars name such as XNYS", calendar) from None


def is_trading_day(day: date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """Whether `calendar` (an ISO MIC such as XNYS or XCME) has a session on `day`.

    Raises:
        InvalidConfig: the calendar name is unknown.
    """
    return _sessions(calendar, day.year).is_session(day.isoformat())


def session_close(day: date, calendar: str = DEFAULT_CALENDAR) -> datetime | None:
    """When `calendar`'s session on `day` closes (aware, UTC), early closes included (XNYS closes at 13:00 New
    York the day after Thanksgiving and on Christmas Eve); None when it has no session that day.

    Raises:
        InvalidConfig: the calendar name is unknown.
    """
    sessions = _sessions(calendar, day.year)
    if not sessions.is_session(day.isoformat()):
        return None
    return sessions.session_close(day.isoformat()).to_pydatetime()
