"""Years of daily bars from IB in pieces: which pieces a span still needs, and fetching them one after another.

IB's limits (TWS API "Historical Data Limitations" and "Historical Bar Data" pages): a duration over 365 days
must be given in years (error 321 "Historical data requests for durations longer than 365 days must be made in
years", ib_async issue #229), and historical requests are paced: error 162 "Historical data request pacing
violation" for identical requests within 15 s, six or more for the same contract within 2 s, or more than 60 in
ten minutes. IB states those pacing rules for bars of 30 seconds or less, but its HMDS also throttles large
requests, so the pieces here stay well inside them: one calendar year or less each, every request a different
span, an instrument's pieces one after another at least `PIECE_SPACING_S` apart (at most five in two seconds),
and an instrument's remaining pieces dropped at its first error (its 162 included), to be asked by a later run.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ib_async import IB, Contract

from lib.broker.instruments import HistoryRequest
from lib.broker.market_data import histories

MAX_YEARS = 30
# bounds of a daily duration's count by unit: D past 365 is IB's error 321; W and M stay under a year likewise
MAX_COUNT = {"D": 365, "W": 52, "M": 12, "Y": MAX_YEARS}
DAILY_DURATION = re.compile(r"^([1-9][0-9]{0,2}) ([DWMY])$")
# five requests for one contract in two seconds at most (IB's pacing counts six)
PIECE_SPACING_S = 0.4
# the end of a piece's last day: after the stock close (16:00) and the futures and FX day's end (17:00 New York),
# before the next futures session opens (18:00), so the piece's last bar is that day's, complete
PIECE_END_TIME = "17:00:00 US/Eastern"


def check_daily_duration(text: str) -> tuple[int, str]:
    """(count, unit) of a daily-bar duration: "N D", "N W", "N M" (within a year) or "N Y" (up to MAX_YEARS).

    Raises:
        ValueError: another form, or a count past its unit's bound.
    """
    match = DAILY_DURATION.match(text)
    if not match:
        raise ValueError(f"a duration like '10 D', '6 M' or '10 Y', got {text!r}")
    count, unit = int(match.group(1)), match.group(2)
    if count > MAX_COUNT[unit]:
        raise ValueError(f"at most {MAX_COUNT[unit]} {unit} (IB takes a span over 365 days in years, Y), "
                         f"got {text!r}")
    return count, unit


def span_start(duration: str, today: date) -> date:
    """The first calendar day of the span `duration` ends today ("N D": N calendar days, so the sessions IB
    counts in "N D" cover at least the span)."""
    count, unit = check_daily_duration(duration)
    if unit == "D":
        return today - timedelta(days=count)
    if unit == "W":
        return today - timedelta(weeks=count)
    months = count * (12 if unit == "Y" else 1)
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, min(today.day, 28))


@dataclass(frozen=True)
class Piece:
    """One request's span of days, within one calendar year; `request` asks IB for it."""

    first: date
    last: date
    today: date

    @property
    def year(self) -> int:
        return self.first.year

    def request(self, name: str, what_to_show: str) -> HistoryRequest:
        days = (self.last - self.first).days + 1
        # "N D" of daily bars is N sessions, which reach back at least N calendar days
        duration = "1 Y" if days > 365 else f"{days} D"
        end = "" if self.last >= self.today else f"{self.last:%Y%m%d} {PIECE_END_TIME}"
        return HistoryRequest(name, duration, "1 day", what_to_show, True, end)


def missing_pieces(first: date, today: date, fetched: dict[int, tuple[date, date]]) -> list[Piece]:
    """The pieces still to request for the days from `first` through yesterday, newest first: per calendar year,
    the days a fetch has not yet covered (`fetched`: {year: (first, last) day covered}). A year with days missing
    on both sides of its covered days is asked whole."""
    pieces = []
    yesterday = today - timedelta(days=1)
    for year in range(yesterday.year, first.year - 1, -1):
        low, high = max(first, date(year, 1, 1)), min(yesterday, date(year, 12, 31))
        if low > high:
            continue
        covered = fetched.get(year)
        if covered is not None:
            done_first, done_last = covered
            if done_first <= low and high <= done_last:
                continue
            if done_first <= low:
                low = done_last + timedelta(days=1)
            elif high <= done_last:
                high = done_first - timedelta(days=1)
        # the newest piece ends now: its request has no end, as IB's most recent bars are asked
        pieces.append(Piece(low, today if high == yesterday else high, today))
    return pieces


async def fetch_pieces(ib: IB, contract: Contract, pieces: list[Piece],
                       what_to_show: str) -> list[tuple[Piece, list | Exception]]:
    """Each piece's bars (as IB sent them) or its error, requested one after another; the pieces after the first
    error are not requested (they are left out of the answer)."""
    answers = []
    for index, piece in enumerate(pieces):
        if index:
            await asyncio.sleep(PIECE_SPACING_S)
        request = piece.request(str(piece.year), what_to_show)
        received = (await histories(ib, {piece.year: (contract, request)}))[piece.year]
        answers.append((piece, received))
        if isinstance(received, Exception):
            break
    return answers
