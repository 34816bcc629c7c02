"""Trading calendars: NYSE holidays and early closes, and the session windows of each kind of contract.

Session kinds (all times New York):
    STK_RTH  stocks/ETFs regular hours 09:30-16:00, Mon-Fri except NYSE holidays; 13:00 on NYSE early closes.
    STK_ETH  stocks/ETFs with extended hours 04:00-20:00, same days; 17:00 on early closes (NYSE's Holidays and
             Trading Hours page: the late trading sessions close at 5:00 p.m. on early-close days).
    IND      indices 09:30-16:00, same days; 13:00 on early closes.
    FUT      CME futures 18:00 (previous day) - 17:00, dated by the day the session ends, Mon-Fri (Monday's
             session opens Sunday 18:00); the 17:00-18:00 gap is the daily break. On NYSE early-close days CME's
             equity products halt at 12:15 Chicago (13:15 New York: CME Group's holiday trading hours for the day
             after Thanksgiving and Christmas Eve). Full holidays are not modelled for futures.
    CASH     IDEALPRO forex 17:15 (previous day) - 17:00, Mon-Fri sessions (Monday's opens Sunday 17:15).
NYSE's holidays and early closes come from exchange-calendars' XNYS calendar, the one the service schedules by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars

NEW_YORK = ZoneInfo("America/New_York")

STK_RTH, STK_ETH, IND, FUT, CASH = "STK_RTH", "STK_ETH", "IND", "FUT", "CASH"

# kind -> (opens the previous calendar day, open, close, follows NYSE holidays, close on NYSE early-close days)
_WINDOWS = {
    STK_RTH: (False, time(9, 30), time(16, 0), True, time(13, 0)),
    STK_ETH: (False, time(4, 0), time(20, 0), True, time(17, 0)),
    IND: (False, time(9, 30), time(16, 0), True, time(13, 0)),
    FUT: (True, time(18, 0), time(17, 0), False, time(13, 15)),
    CASH: (True, time(17, 15), time(17, 0), False, None),
}
# the span of NYSE's calendar the simulator reads (exchange-calendars refuses dates outside the one it built)
CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR = 1995, 2045


@dataclass(frozen=True)
class Session:
    """One trading session.

    Parameters:
        day: the trading date the session belongs to (its closing day).
        start: opening moment, UTC.
        end: closing moment, UTC.
    """

    day: date
    start: datetime
    end: datetime


def session_kind(sec_type: str, use_rth: bool) -> str:
    """The session kind for a security type; only stocks distinguish regular from extended hours, and options
    trade in regular hours only."""
    if sec_type == "STK":
        return STK_RTH if use_rth else STK_ETH
    if sec_type == "OPT":
        return STK_RTH
    if sec_type in (IND, FUT, CASH):
        return sec_type
    raise ValueError(f"no trading hours for security type {sec_type!r}")


def trading_kind(sec_type: str) -> str:
    """The session kind during which a contract trades at all (its last price moves)."""
    return session_kind(sec_type, use_rth=False)


@lru_cache(maxsize=1)
def _nyse():
    """XNYS from exchange-calendars, built on first use, once per process (about 0.2 s)."""
    return exchange_calendars.get_calendar("XNYS", start=f"{CALENDAR_FIRST_YEAR}-01-01",
                                           end=f"{CALENDAR_LAST_YEAR}-12-31")


@lru_cache(maxsize=64)
def us_holidays(year: int) -> frozenset[date]:
    """NYSE's full-day holidays of a year: the weekdays that are not sessions."""
    sessions = {ts.date() for ts in _nyse().sessions_in_range(f"{year}-01-01", f"{year}-12-31")}
    first = date(year, 1, 1)
    return frozenset(day for day in (first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days))
                     if day.weekday() < 5 and day not in sessions)


@lru_cache(maxsize=64)
def early_closes(year: int) -> frozenset[date]:
    """NYSE's early-close days of a year (13:00: the day after Thanksgiving, Christmas Eve, the eve of July 4)."""
    return frozenset(ts.date() for ts in _nyse().early_closes if ts.year == year)


def is_trading_day(kind: str, day: date) -> bool:
    """Whether `kind` has a session dated `day`."""
    if day.weekday() >= 5:
        return False
    return not (_WINDOWS[kind][3] and day in us_holidays(day.year))


def is_early_close(day: date) -> bool:
    """Whether NYSE closes early on `day`."""
    return day in early_closes(day.year)


@lru_cache(maxsize=8192)
def session_on(kind: str, day: date) -> Session | None:
    """The session of `kind` dated `day`, or None when there is none."""
    if not is_trading_day(kind, day):
        return None
    previous_day, opens, closes, _, early = _WINDOWS[kind]
    if early is not None and is_early_close(day):
        closes = early
    open_day = day - timedelta(days=1) if previous_day else day
    start = datetime.combine(open_day, opens, tzinfo=NEW_YORK).astimezone(timezone.utc)
    end = datetime.combine(day, closes, tzinfo=NEW_YORK).astimezone(timezone.utc)
    return Session(day, start, end)


def _candidate_day(moment: datetime) -> date:
    """The latest session date whose session could have opened by `moment` (sessions open at most 1 day early)."""
    return moment.astimezone(NEW_YORK).date() + timedelta(days=1)


def sessions_started(kind: str, moment: datetime, count: int) -> list[Session]:
    """The last `count` sessions that opened strictly before `moment`, oldest first."""
    found: list[Session] = []
    day = _candidate_day(moment)
    while len(found) < count:
        session = session_on(kind, day)
        if session is not None and session.start < moment:
            found.append(session)
        day -= timedelta(days=1)
    found.reverse()
    return found


def sessions_between(kind: str, first_day: date, last_day: date) -> list[Session]:
    """Sessions dated first_day..last_day inclusive, oldest first."""
    sessions = []
    day = first_day
    while day <= last_day:
        session = session_on(kind, day)
        if session is not None:
            sessions.append(session)
        day += timedelta(days=1)
    return sessions


def last_session_started(kind: str, moment: datetime) -> Session:
    """The latest session that opened strictly before `moment`."""
    return sessions_started(kind, moment, 1)[0]


def trading_day_of(kind: str, moment: datetime) -> date:
    """The trading date `moment` belongs to: its session's date, or (between sessions) the next session's date
    for kinds that open the evening before, the New York calendar date otherwise."""
    local_day = moment.astimezone(NEW_YORK).date()
    if not _WINDOWS[kind][0]:
        return local_day
    for day in (local_day, local_day + timedelta(days=1)):
        session = session_on(kind, day)
        if session is not None and moment <= session.end:
            return day
    return local_day + timedelta(days=1)


def hours_text(kind: str, first_day: date, days: int, zone: ZoneInfo) -> str:
    """IB's tradingHours/liquidHours text for `days` calendar days from first_day, in `zone`:
    "20261124:0930-20261124:1600;20261126:CLOSED;..."."""
    parts = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        session = session_on(kind, day)
        if session is None:
            parts.append(f"{day:%Y%m%d}:CLOSED")
            continue
        start, end = session.start.astimezone(zone), session.end.astimezone(zone)
        parts.append(f"{start:%Y%m%d:%H%M}-{end:%Y%m%d:%H%M}")
    return ";".join(parts)


def session_at_or_after(kind: str, moment: datetime) -> Session:
    """The session of `kind` open at `moment`, else the next one to open."""
    day = moment.astimezone(NEW_YORK).date() - timedelta(days=1)
    while True:
        session = session_on(kind, day)
        if session is not None and moment < session.end:
            return session
        day += timedelta(days=1)


def is_open(kind: str, moment: datetime) -> bool:
    """Whether a session of `kind` is open at `moment`."""
    return session_at_or_after(kind, moment).start <= moment


def inside_last_session(kind: str, moment: datetime, into: timedelta) -> datetime:
    """`moment` itself when a session of `kind` is open then, else `into` after the open of the last session
    that opened before it (a clock started there shows a market that trades)."""
    if is_open(kind, moment):
        return moment
    return last_session_started(kind, moment).start + into
