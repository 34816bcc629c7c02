"""Trading calendars: US exchange holidays and the session windows of each kind of contract.

Session kinds (all times New York):
    STK_RTH  stocks/ETFs regular hours 09:30-16:00, Mon-Fri except NYSE holidays.
    STK_ETH  stocks/ETFs with extended hours 04:00-20:00, same days.
    IND      indices 09:30-16:00, same days.
    FUT      CME equity futures 18:00 (previous day) - 17:00, dated by the day the session ends, Mon-Fri
             (Monday's session opens Sunday 18:00); the 17:00-18:00 gap is the daily break. Holidays ignored.
    CASH     IDEALPRO forex 17:15 (previous day) - 17:00, Mon-Fri sessions (Monday's opens Sunday 17:15).
Early closes (day after Thanksgiving, Christmas Eve) are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

STK_RTH, STK_ETH, IND, FUT, CASH = "STK_RTH", "STK_ETH", "IND", "FUT", "CASH"

# kind -> (opens the previous calendar day, open, close, follows NYSE holidays)
_WINDOWS = {
    STK_RTH: (False, time(9, 30), time(16, 0), True),
    STK_ETH: (False, time(4, 0), time(20, 0), True),
    IND: (False, time(9, 30), time(16, 0), True),
    FUT: (True, time(18, 0), time(17, 0), False),
    CASH: (True, time(17, 15), time(17, 0), False),
}


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


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month, day = divmod(h + l_ - 7 * m + 90, 25)
    return date(year, month, (h + l_ - 7 * m + 33 * month + 19) % 32)


def _observed(day: date) -> date:
    """Saturday holidays are observed on Friday, Sunday holidays on Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def us_holidays(year: int) -> frozenset[date]:
    """NYSE full-day holidays of a year."""
    days = {
        _nth_weekday(year, 1, 0, 3),                  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),                  # Washington's Birthday
        _easter(year) - timedelta(days=2),            # Good Friday
        _last_weekday(year, 5, 0),                    # Memorial Day
        _observed(date(year, 7, 4)),                  # Independence Day
        _nth_weekday(year, 9, 0, 1),                  # Labor Day
        _nth_weekday(year, 11, 3, 4),                 # Thanksgiving
        _observed(date(year, 12, 25)),                # Christmas
    }
    new_year = date(year, 1, 1)
    # NYSE does not close on Friday Dec 31 when Jan 1 is a Saturday
    if new_year.weekday() != 5:
        days.add(_observed(new_year))
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))        # Juneteenth
    return frozenset(days)


def is_trading_day(kind: str, day: date) -> bool:
    """Whether `kind` has a session dated `day`."""
    if day.weekday() >= 5:
        return False
    return not (_WINDOWS[kind][3] and day in us_holidays(day.year))


@lru_cache(maxsize=8192)
def session_on(kind: str, day: date) -> Session | None:
    """The session of `kind` dated `day`, or None when there is none."""
    if not is_trading_day(kind, day):
        return None
    previous_day, opens, closes, _ = _WINDOWS[kind]
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
