"""Historical bars: IB duration and bar-size parsing, bar intervals from trading sessions, and OHLC/volume
computed from the price model.

A bar covers [start, end] of trading time, end = min(bar end, session end, request end rounded down to the
minute): open = price at start, close = price at end, so a finished bar closes where the next one opens and the
bar in progress closes at the current price. High and low come from the bar's pieces (whole half hours of the
price grid, single minutes at ragged edges and for minute bar sizes); each piece's extreme is drawn exactly from
the distribution of a Brownian bridge's maximum/minimum between the piece's end points, so ranges scale with
volatility, and every bar satisfies low <= min(open, close) <= max(open, close) <= high. Bars of different sizes
share opens and closes at common times; their extremes are drawn per size resolution and need not nest exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np

from simulator.engine import trading_hours
from simulator.engine.price_model import PriceModel, Series
from simulator.engine.price_paths import GRID_S, MINUTE_S, YEAR_S, uniforms
from simulator.engine.trading_hours import NEW_YORK, Session

HMDS_ERROR = "Historical Market Data Service error message:"
SECONDS_SIZES_S = {"1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30}
# the longest duration IB's step-size table allows for each seconds bar size (TWS API docs,
# historical_limitations.html#step-sizes: 1800 S for 1 sec bars, 3600 S from 5 secs, 14400 S from 10 secs,
# 28800 S from 30 secs); more is refused with "Time length exceed max."
SECONDS_MAX_SPAN_S = {"1 secs": 1800, "5 secs": 3600, "10 secs": 14400, "15 secs": 14400, "30 secs": 28800}
INTRADAY_SIZES_S = {"1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600, "15 mins": 900,
                    "20 mins": 1200, "30 mins": 1800, "1 hour": 3600, "2 hours": 7200, "3 hours": 10800,
                    "4 hours": 14400, "8 hours": 28800}
PERIOD_SIZES = ("1 day", "1 week", "1 month")
WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")
TRADE_TYPES = ("TRADES", "ADJUSTED_LAST")
MAX_PIECES = 400_000
AVERAGE_TRADE_SIZE = {"STK": 100.0, "FUT": 2.0}
_DURATION = re.compile(r"^\s*(\d+)\s*([SDWMY])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Bar:
    """One historical bar.

    Parameters:
        time: bar start, UTC (daily/weekly/monthly bars: the first session date at 00:00 UTC).
        open, high, low, close: prices, rounded to the contract's tick.
        volume: traded units (0 for forex and indices, and for quote-based bars).
        wap: volume-weighted average price (approximated by the typical price (high + low + close) / 3).
        count: number of trades.
    """

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    wap: float
    count: int


def tick_decimals(tick: float) -> int:
    return max(0, -Decimal(str(tick)).normalize().as_tuple().exponent)


def round_to_tick(values: np.ndarray, tick: float) -> np.ndarray:
    """Round to the tick grid; the second rounding removes binary noise (540.0000000001 -> 540.0)."""
    return np.round(np.round(np.asarray(values) / tick) * tick, tick_decimals(tick))


def parse_bar_size(text: str) -> str:
    """The canonical IB bar size ("1 min", "30 mins", "1 hour", "1 day", ...); ValueError if unsupported."""
    words = " ".join(text.lower().split())
    candidates = {words, words.rstrip("s"), words + "s"}
    sizes = (*SECONDS_SIZES_S, *INTRADAY_SIZES_S, *PERIOD_SIZES)
    for size in sizes:
        if size in candidates:
            return size
    raise ValueError(f"{HMDS_ERROR}Bar size {text!r} is not supported (use one of {', '.join(sizes)})")


def parse_duration(text: str) -> tuple[int, str]:
    """(count, unit) of an IB duration like "30 D", "3600 S", "1 Y"; ValueError if malformed."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{HMDS_ERROR}Invalid duration {text!r}: expected '<integer> <unit>' with unit "
                         f"S, D, W, M or Y")
    return int(match.group(1)), match.group(2).upper()


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def select_sessions(kind: str, end_s: int, count: int, unit: str) -> list[Session]:
    """Sessions an IB duration covers, ending with the latest session opened before end_s.

    "N D" counts trading sessions (IB counts trading days); W, M and Y are calendar spans back from the latest
    session's date; S keeps the sessions that overlap the last N seconds.
    """
    end = datetime.fromtimestamp(end_s, timezone.utc)
    if unit == "D":
        return trading_hours.sessions_started(kind, end, count)
    latest = trading_hours.last_session_started(kind, end)
    if unit == "S":
        window_start = end_s - count
        first_day = (end - timedelta(seconds=count + 2 * 86400)).astimezone(NEW_YORK).date()
        candidates = trading_hours.sessions_between(kind, first_day, latest.day)
        return [s for s in candidates if s.end.timestamp() > window_start and s.start.timestamp() < end_s]
    if unit == "W":
        first_day = latest.day - timedelta(days=7 * count)
    elif unit == "M":
        first_day = _months_before(latest.day, count)
    else:
        first_day = date(latest.day.year - count, latest.day.month, min(latest.day.day, 28))
    sessions = trading_hours.sessions_between(kind, first_day + timedelta(days=1), latest.day)
    return [s for s in sessions if s.start.timestamp() < end_s]


def check_request_size(sessions: list[Session], minutes_only: bool) -> None:
    """Refuse, like IB, requests that would need too many price points (e.g. years of minute bars)."""
    trading_s = sum((s.end - s.start).total_seconds() for s in sessions)
    if trading_s / (MINUTE_S if minutes_only else GRID_S) > MAX_PIECES:
        raise ValueError(f"{HMDS_ERROR}Time length exceed max.")


def check_seconds_span(size: str, starts: np.ndarray, ends: np.ndarray) -> None:
    """Refuse, like IB, seconds bars over more trading time than its step-size table allows for the size."""
    if int(np.sum(ends - starts)) > SECONDS_MAX_SPAN_S[size]:
        raise ValueError(f"{HMDS_ERROR}Time length exceed max.")


def daily_intervals(sessions: list[Session], end_s: int) -> tuple[list[datetime], np.ndarray, np.ndarray]:
    """(labels, starts, ends) of one bar per session."""
    labels = [datetime.combine(s.day, time(0), tzinfo=timezone.utc) for s in sessions]
    starts = np.array([int(s.start.timestamp()) for s in sessions], dtype=np.int64)
    ends = np.minimum(np.array([int(s.end.timestamp()) for s in sessions], dtype=np.int64), end_s)
    return labels, starts, ends


def intraday_intervals(sessions: list[Session], end_s: int, size_s: int,
                       window_start_s: int | None) -> tuple[list[datetime], np.ndarray, np.ndarray]:
    """(labels, starts, ends) of the bars of `size_s` seconds in the sessions, aligned to New York midnight
    (which is also UTC-aligned for sizes up to an hour), clipped to the session and to end_s."""
    all_starts, all_ends = [], []
    for session in sessions:
        open_s, close_s = int(session.start.timestamp()), int(session.end.timestamp())
        local_open = session.start.astimezone(NEW_YORK)
        origin = int(datetime.combine(local_open.date(), time(0), tzinfo=NEW_YORK).timestamp())
        first = origin + (open_s - origin) // size_s * size_s
        bounds = np.arange(first, min(close_s, end_s), size_s, dtype=np.int64)
        starts = np.maximum(bounds, open_s)
        ends = np.minimum(np.minimum(bounds + size_s, close_s), end_s)
        keep = starts < ends
        if window_start_s is not None:
            keep &= starts >= window_start_s
        all_starts.append(starts[keep])
        all_ends.append(ends[keep])
    starts = np.concatenate(all_starts) if all_starts else np.zeros(0, dtype=np.int64)
    ends = np.concatenate(all_ends) if all_ends else np.zeros(0, dtype=np.int64)
    labels = [datetime.fromtimestamp(int(s), timezone.utc) for s in starts]
    return labels, starts, ends


def _expand(starts: np.ndarray, counts: np.ndarray, step_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Piece start times: counts[i] consecutive pieces of step_s from starts[i]; plus each piece's interval."""
    owner = np.repeat(np.arange(len(starts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return starts[owner] + (np.arange(owner.size) - first) * step_s, owner


def _pieces(starts: np.ndarray, ends: np.ndarray, minutes_only: bool):
    """Split intervals into pieces: half-hour grid blocks where whole ones fit, minutes elsewhere.

    Returns (piece starts, piece lengths, owning interval), sorted by interval then time.
    """
    if minutes_only:
        piece_starts, owner = _expand(starts, (ends - starts) // MINUTE_S, MINUTE_S)
        return piece_starts, np.full(piece_starts.shape, MINUTE_S, dtype=np.int64), owner
    grid_in = -(-starts // GRID_S) * GRID_S
    grid_out = ends // GRID_S * GRID_S
    has_block = grid_in < grid_out
    head_end = np.where(has_block, grid_in, ends)
    tail_start = np.where(has_block, grid_out, ends)
    parts = [(_expand(starts, (head_end - starts) // MINUTE_S, MINUTE_S), MINUTE_S),
             (_expand(grid_in, np.where(has_block, (grid_out - grid_in) // GRID_S, 0), GRID_S), GRID_S),
             (_expand(tail_start, (ends - tail_start) // MINUTE_S, MINUTE_S), MINUTE_S)]
    piece_starts = np.concatenate([p[0][0] for p in parts])
    owner = np.concatenate([p[0][1] for p in parts])
    lengths = np.concatenate([np.full(p[0][0].shape, p[1], dtype=np.int64) for p in parts])
    order = np.lexsort((piece_starts, owner))
    return piece_starts[order], lengths[order], owner[order]


@dataclass(frozen=True)
class Ohlc:
    """Arrays of log-price extremes and volumes, one entry per interval."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def ohlc(model: PriceModel, series: Series, starts: np.ndarray, ends: np.ndarray, *,
         minutes_only: bool = False) -> Ohlc:
    """Log open/high/low/close and volume of each interval [starts[i], ends[i]] (minute-aligned, start < end)."""
    piece_starts, lengths, owner = _pieces(starts, ends, minutes_only)
    times = np.unique(np.concatenate([piece_starts, piece_starts + lengths]))
    values = model.log_prices(series, times)
    a = values[np.searchsorted(times, piece_starts)]
    b = values[np.searchsorted(times, piece_starts + lengths)]
    variance = series.unit_vol ** 2 * lengths / YEAR_S
    # pieces of either length starting at the same minute draw different numbers
    draw_index = piece_starts // MINUTE_S * 2 + (lengths == GRID_S)
    up = 1.0 - uniforms(model.stream_key(series, "high"), draw_index)
    down = 1.0 - uniforms(model.stream_key(series, "low"), draw_index)
    gap = (b - a) ** 2
    piece_high = (a + b + np.sqrt(gap - 2.0 * variance * np.log(up))) / 2.0
    piece_low = (a + b - np.sqrt(gap - 2.0 * variance * np.log(down))) / 2.0
    firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    lasts = np.r_[firsts[1:] - 1, owner.size - 1]
    volume = series.volume_per_s * lengths * (0.4 + 1.2 * uniforms(model.stream_key(series, "volume"), draw_index))
    return Ohlc(open=a[firsts], high=np.maximum.reduceat(piece_high, firsts),
                low=np.minimum.reduceat(piece_low, firsts), close=b[lasts], volume=np.add.reduceat(volume, firsts))


def to_bars(labels: list[datetime], values: Ohlc, *, tick: float, shift: tuple[float, float, float],
            sec_type: str, with_volume: bool) -> list[Bar]:
    """Bars in price units. shift = (added to open/close, to high, to low), e.g. a half spread for BID/ASK."""
    open_ = round_to_tick(np.exp(values.open) + shift[0], tick)
    close = round_to_tick(np.exp(values.close) + shift[0], tick)
    high = np.maximum(round_to_tick(np.exp(values.high) + shift[1], tick), np.maximum(open_, close))
    low = np.minimum(round_to_tick(np.exp(values.low) + shift[2], tick), np.minimum(open_, close))
    volume = np.round(values.volume) if with_volume else np.zeros(len(labels))
    trade_size = AVERAGE_TRADE_SIZE.get(sec_type, 1.0)
    wap = np.round((high + low + close) / 3.0, tick_decimals(tick) + 2)
    return [Bar(time=label, open=float(o), high=float(h), low=float(lo), close=float(c), volume=float(v),
                wap=float(w), count=int(max(1, v // trade_size)) if v > 0 else 0)
            for label, o, h, lo, c, v, w in zip(labels, open_, high, low, close, volume, wap)]


def aggregate(bars: list[Bar], period: str) -> list[Bar]:
    """Daily bars merged into weekly (ISO week) or monthly bars, each dated by its first session."""
    groups: dict[tuple[int, int], list[Bar]] = {}
    for bar in bars:
        if period == "1 week":
            key = tuple(bar.time.isocalendar())[:2]
        else:
            key = (bar.time.year, bar.time.month)
        groups.setdefault(key, []).append(bar)
    merged = []
    for members in groups.values():
        volume = sum(bar.volume for bar in members)
        high, low, close = max(bar.high for bar in members), min(bar.low for bar in members), members[-1].close
        wap = sum(bar.wap * bar.volume for bar in members) / volume if volume else (high + low + close) / 3.0
        merged.append(Bar(time=members[0].time, open=members[0].open, high=high, low=low, close=close,
                          volume=volume, wap=round(wap, 6), count=sum(bar.count for bar in members)))
    return merged
