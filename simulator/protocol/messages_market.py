"""Encode market-data messages: ticks, snapshot end, tick parameters, historical bars, head timestamp."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from simulator.protocol.messages import (
    HEAD_TIMESTAMP, HISTORICAL_DATA, TICK_PRICE, TICK_REQ_PARAMS, TICK_SIZE,
    TICK_SNAPSHOT_END, TICK_STRING, Fields)
from simulator.protocol.versions import SV_SYNT_REALTIME_BARS
from simulator.protocol.wire import format_ib_datetime

# tick types (TWS API TickTypeEnum)
BID_SIZE, BID, ASK, ASK_SIZE, LAST, LAST_SIZE = 0, 1, 2, 3, 4, 5
HIGH, LOW, VOLUME, CLOSE, OPEN = 6, 7, 8, 9, 14
LAST_TIMESTAMP = 45


def whole(size: float) -> int:
    """Sizes go out as integers: the v157 client decodes them with int()."""
    return int(round(size))


def tick_price(req_id: int, tick_type: int, price: float, size: float = 0.0, attr_mask: int = 0) -> Fields:
    return [TICK_PRICE, 6, req_id, tick_type, price, whole(size), attr_mask]


def tick_size(req_id: int, tick_type: int, size: float) -> Fields:
    return [TICK_SIZE, 6, req_id, tick_type, whole(size)]


def tick_string(req_id: int, tick_type: int, value: str) -> Fields:
    return [TICK_STRING, 6, req_id, tick_type, value]


def tick_req_params(req_id: int, min_tick: float, bbo_exchange: str, snapshot_permissions: int = 3) -> Fields:
    return [TICK_REQ_PARAMS, req_id, min_tick, bbo_exchange, snapshot_permissions]


def tick_snapshot_end(req_id: int) -> Fields:
    return [TICK_SNAPSHOT_END, 1, req_id]


def quote_ticks(req_id: int, quote, *, with_trades: bool, with_quotes: bool = True,
                previous=None) -> list[Fields]:
    """Tick messages for a Quote; with `previous`, only what changed since that quote.

    Forex quotes carry no last trade or volume (IB sends bid/ask/close/high/low only for CASH); index quotes
    carry no bid or ask (`with_quotes` False).
    """
    def changed(*names: str) -> bool:
        return previous is None or any(getattr(quote, n) != getattr(previous, n) for n in names)

    messages: list[Fields] = []
    if with_quotes and changed("bid", "bid_size"):
        messages.append(tick_price(req_id, BID, quote.bid, quote.bid_size, 0))
    if with_quotes and changed("ask", "ask_size"):
        messages.append(tick_price(req_id, ASK, quote.ask, quote.ask_size, 0))
    if with_trades and changed("last", "last_size"):
        messages.append(tick_price(req_id, LAST, quote.last, quote.last_size, 0))
    if changed("high"):
        messages.append(tick_price(req_id, HIGH, quote.high))
    if changed("low"):
        messages.append(tick_price(req_id, LOW, quote.low))
    if changed("close"):
        messages.append(tick_price(req_id, CLOSE, quote.close))
    if changed("open"):
        messages.append(tick_price(req_id, OPEN, quote.open))
    if with_trades and changed("volume"):
        messages.append(tick_size(req_id, VOLUME, quote.volume))
    if with_trades and changed("time", "last"):
        messages.append(tick_string(req_id, LAST_TIMESTAMP, str(int(quote.time.timestamp()))))
    return messages


def format_bar_time(bar_time: datetime, *, daily: bool, format_date: int, zone: str) -> str:
    """Daily bars "YYYYMMDD"; intraday "YYYYMMDD HH:MM:SS <zone>" (formatDate 1) or epoch (2)."""
    if daily:
        return bar_time.astimezone(timezone.utc).strftime("%Y%m%d")
    if format_date == 2:
        return str(int(bar_time.timestamp()))
    return format_ib_datetime(bar_time, zone)


def historical_data(server_version: int, req_id: int, bars: list, *, start: str, end: str,
                    daily: bool, format_date: int, zone: str) -> Fields:
    """historicalData with every bar in one message (v124+ drops version and per-bar hasGaps)."""
    old = server_version < SV_SYNT_REALTIME_BARS
    fields: Fields = [HISTORICAL_DATA, 3, req_id] if old else [HISTORICAL_DATA, req_id]
    fields += [start, end, len(bars)]
    for bar in bars:
        fields += [format_bar_time(bar.time, daily=daily, format_date=format_date, zone=zone),
                   bar.open, bar.high, bar.low, bar.close, whole(bar.volume), bar.wap]
        if old:
            fields.append("false")
        fields.append(int(bar.count))
    return fields


# TWS API IN.HISTORICAL_SCHEDULE: the answer to reqHistoricalData with whatToShow "SCHEDULE"
HISTORICAL_SCHEDULE = 106


def schedule_time(moment: datetime, zone: str) -> str:
    """"YYYYMMDD-HH:MM:SS" in the schedule's time zone, as IB writes a HistoricalSession's times."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y%m%d-%H:%M:%S")


def historical_schedule(req_id: int, sessions: list, zone: str) -> Fields:
    """historicalSchedule: the span, the time zone, then each session's start, end and reference date."""
    fields: Fields = [HISTORICAL_SCHEDULE, req_id, schedule_time(sessions[0].start, zone) if sessions else "",
                      schedule_time(sessions[-1].end, zone) if sessions else "", zone, len(sessions)]
    for session in sessions:
        fields += [schedule_time(session.start, zone), schedule_time(session.end, zone),
                   session.day.strftime("%Y%m%d")]
    return fields


def head_timestamp(req_id: int, value: str) -> Fields:
    return [HEAD_TIMESTAMP, req_id, value]
