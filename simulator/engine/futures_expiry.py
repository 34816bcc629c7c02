"""Contract months and last trade dates of the futures the catalog lists, by the exchanges' rules.

Business days are weekdays that are not NYSE holidays (CME's holiday calendar is close to it). Each rule is named
after the contract specification it follows (CME Group's contract specs, "Termination of trading"):
    equity-index  ES, NQ, RTY, YM and their micros: H M U Z, the third Friday of the contract month.
    fx            6E, M6E: H M U Z, two business days before the third Wednesday of the contract month.
    treasury      ZN: H M U Z, the seventh business day before the last business day of the contract month.
    metal         GC, MGC: G J M Q V Z, the third last business day of the contract month.
    crude         CL: every month, three business days before the 25th of the month before the contract month
                  (before the business day preceding the 25th when the 25th is not a business day).
    crude-micro   MCL: every month, one business day before CL's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from simulator.engine.trading_hours import us_holidays

MONTH_CODES = {1: "F", 2: "G", 3: "H", 4: "J", 5: "K", 6: "M", 7: "N", 8: "Q", 9: "U", 10: "V", 11: "X", 12: "Z"}
QUARTERLY = (3, 6, 9, 12)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in us_holidays(day.year)


def business_days_before(day: date, count: int) -> date:
    """The business day `count` business days before `day`."""
    while count:
        day -= timedelta(days=1)
        count -= is_business_day(day)
    return day


def _last_business_day(year: int, month: int) -> date:
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def third_friday(year: int, month: int) -> date:
    """The third Friday of a month: the last trade date of CME quarterly equity index futures."""
    return _nth_weekday(year, month, 4, 3)


def _fx(year: int, month: int) -> date:
    return business_days_before(_nth_weekday(year, month, 2, 3), 2)


def _treasury(year: int, month: int) -> date:
    return business_days_before(_last_business_day(year, month), 7)


def _metal(year: int, month: int) -> date:
    return business_days_before(_last_business_day(year, month), 2)


def _crude(year: int, month: int, extra_days: int = 0) -> date:
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    day = date(year, month, 25)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return business_days_before(day, 3 + extra_days)


@dataclass(frozen=True)
class Cycle:
    """Which months a future lists and when each contract month stops trading.

    Parameters:
        months: the contract months listed.
        last_trade: (year, contract month) -> last trade date.
    """

    months: tuple[int, ...]
    last_trade: Callable[[int, int], date]


CYCLES = {
    "equity-index": Cycle(QUARTERLY, third_friday),
    "fx": Cycle(QUARTERLY, _fx),
    "treasury": Cycle(QUARTERLY, _treasury),
    "metal": Cycle((2, 4, 6, 8, 10, 12), _metal),
    "crude": Cycle(tuple(range(1, 13)), _crude),
    "crude-micro": Cycle(tuple(range(1, 13)), lambda year, month: _crude(year, month, extra_days=1)),
}


def contract_months(cycle: str, today: date, live: int, expired: int) -> list[tuple[date, date]]:
    """(contract month's first day, last trade date) of the `expired` most recent expired and the `live` next
    contracts of a cycle, oldest first; a contract whose last trade date is today or later is live."""
    rule = CYCLES[cycle]
    found: list[tuple[date, date]] = []
    year, month = today.year - 2, 1
    while sum(last >= today for _, last in found) < live:
        if month in rule.months:
            found.append((date(year, month, 1), rule.last_trade(year, month)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    past = [item for item in found if item[1] < today]
    return past[len(past) - expired:] + [item for item in found if item[1] >= today]
