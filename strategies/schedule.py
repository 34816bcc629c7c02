"""Rebalancing schedules and history lengths counted in an exchange's sessions (exchange-calendars' holiday rules).

`first_session_of_month(today)` is True on the first trading day of the month, whichever weekday or holiday it
falls after, so a strategy run every session rebalances once a month; `history(name, sessions)` asks IB for enough
daily bars that `inputs.closes(name, sessions)` holds the last `sessions` of them.
"""
from __future__ import annotations

import bisect
import math
from datetime import date
from functools import lru_cache

import exchange_calendars

from lib.broker.instruments import HistoryRequest
from lib.trading.market_calendar import DEFAULT_CALENDAR

PERIODS = ("week", "month", "quarter", "year")
FIRST_YEAR = 1990
# IB's reqHistoricalData counts "N D" in trading days and takes durations over 365 days in years only
# (TWS API docs, Historical Data Limitations: "Valid Duration String units"); a year has about 252 sessions.
MAX_DAYS_DURATION = 365
SESSIONS_PER_YEAR = 252


@lru_cache(maxsize=8)
def sessions(calendar: str = DEFAULT_CALENDAR) -> tuple[date, ...]:
    """Every session of `calendar` (an ISO MIC such as XNYS) from 1990 to the end of next year, oldest first.

    Raises:
        ValueError: an unknown calendar name.
    """
    try:
        found = exchange_calendars.get_calendar(calendar, start=f"{FIRST_YEAR}-01-01",
                                                end=f"{date.today().year + 1}-12-31")
    except exchange_calendars.errors.InvalidCalendarName:
        raise ValueError(f"unknown exchange calendar {calendar!r} (an exchange-calendars name such as XNYS)") from None
    return tuple(session.date() for session in found.sessions)


def _period(day: date, period: str) -> tuple:
    if period == "week":
        return day.isocalendar()[:2]
    if period == "month":
        return day.year, day.month
    if period == "quarter":
        return day.year, (day.month - 1) // 3
    return (day.year,)


def is_first_session(day: date, period: str, calendar: str = DEFAULT_CALENDAR) -> bool:
    """Whether `day` is a session of `calendar` and the first one of its `period` (week, month, quarter or year).

    Raises:
        ValueError: an unknown period or calendar, or a day outside the calendar's years.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    days = sessions(calendar)
    if not days[0] <= day <= days[-1]:
        raise ValueError(f"{day.isoformat()} is outside the {calendar} sessions known ({days[0]} to {days[-1]})")
    index = bisect.bisect_left(days, day)
    if days[index] != day:
        return False
    return index == 0 or _period(days[index - 1], period) != _period(day, period)


def first_session_of_week(day: date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """The first session of an ISO week (Monday, or Tuesday after a Monday holiday...)."""
    return is_first_session(day, "week", calendar)


def first_session_of_month(day: date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """The first session of a calendar month."""
    return is_first_session(day, "month", calendar)


def first_session_of_quarter(day: date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """The first session of January, April, July or October."""
    return is_first_session(day, "quarter", calendar)


def history_duration(sessions_wanted: int) -> str:
    """IB's durationStr that covers at least `sessions_wanted` daily bars: "N D" up to 365, whole years above."""
    if isinstance(sessions_wanted, bool) or not isinstance(sessions_wanted, int) or sessions_wanted < 1:
        raise ValueError(f"sessions must be a positive int, got {sessions_wanted!r}")
    if sessions_wanted <= MAX_DAYS_DURATION:
        return f"{sessions_wanted} D"
    return f"{math.ceil(sessions_wanted / SESSIONS_PER_YEAR) + 1} Y"


def history(instrument: str, sessions_wanted: int, what_to_show: str = "TRADES") -> HistoryRequest:
    """Daily bars of `instrument` (a name in the same Requirements), regular hours, at least `sessions_wanted` of
    them; take the last ones with `inputs.closes(name, sessions_wanted)`."""
    return HistoryRequest(instrument, history_duration(sessions_wanted), "1 day", what_to_show, True)
