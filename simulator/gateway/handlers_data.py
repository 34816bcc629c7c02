"""Request handlers for market data beyond quotes and bars: scanners, market depth, real-time bars, tick-by-tick
data, histograms and historical ticks, with the streaming updates of the subscriptions among them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from simulator.engine import scanner
from simulator.engine.bars import HMDS_ERROR
from simulator.engine.ib_time import END_OF_DAY, TWS_TIME_ZONE, parse_ib_time
from simulator.engine.price_paths import TICK_S
from simulator.gateway.handlers_market import resolve_one
from simulator.gateway.session import Session
from simulator.protocol import messages_data
from simulator.protocol.messages_data import ASK_SIDE, BID_SIDE, INSERT, TICK_BY_TICK_TYPES, UPDATE
from simulator.protocol.requests_data import (
    CancelHistogramData, CancelMktDepth, CancelRealTimeBars, CancelScannerSubscription, CancelTickByTickData,
    ReqHistogramData, ReqHistoricalTicks, ReqMktDepth, ReqMktDepthExchanges, ReqRealTimeBars, ReqScannerParameters,
    ReqScannerSubscription, ReqTickByTickData)

REAL_TIME_BAR_S = 5
MAX_CATCH_UP_BARS = 12
MAX_DEPTH_ROWS = 10
MAX_HISTORICAL_TICKS = 1000
MAX_TICK_SPAN_S = 86_400
HISTOGRAM_UNITS_D = {"day": 1, "week": 5, "month": 21}
_HISTOGRAM_PERIOD = re.compile(r"^\s*(\d+)\s*(day|week|month)s?\s*$", re.IGNORECASE)

# what reqMktDepthExchanges lists: (exchange, secType, listingExch, serviceDataType, aggGroup); Deep2 books are
# aggregated per price level (updateMktDepth), Deep ones per market maker (updateMktDepthL2)
DEPTH_EXCHANGES = [
    ("ISLAND", "STK", "NASDAQ", "Deep2", 7), ("ARCA", "STK", "NYSE", "Deep2", 2),
    ("BATS", "STK", "", "Deep", 7), ("NYSE", "STK", "NYSE", "Deep", 2), ("IEX", "STK", "", "Deep", 1),
    ("CME", "FUT", "", "Deep2", 2), ("IDEALPRO", "CASH", "", "Deep", 4),
]
DUPLICATE_TICKER = "Error processing request:-'bJ' : cause - Duplicate ticker id"


@dataclass
class Stream:
    """A streaming subscription other than a ticker.

    Parameters:
        kind: "depth", "bars", "ticks" or "scanner".
        spec: the contract (None for scanners).
        request: the request that opened it.
        quote: the quote last sent from (depth, ticks).
        next_bar_end_s: real-time bars: the end of the next bar to send.
        last_volume: real-time bars: the session volume at the last bar sent.
    """

    kind: str
    spec: object
    request: object
    quote: object = None
    next_bar_end_s: int = 0
    last_volume: float = 0.0


def _open(session: Session, req_id: int, stream: Stream) -> bool:
    if req_id in session.subs.streams:
        session.error(req_id, 322, DUPLICATE_TICKER)
        return False
    session.subs.streams[req_id] = stream
    return True


def _close(session: Session, req_id: int, kind: str) -> None:
    stream = session.subs.streams.get(req_id)
    if stream is not None and stream.kind == kind:
        del session.subs.streams[req_id]


# --- scanners -----------------------------------------------------------------------------------------------

def _handle_scanner_parameters(session: Session, request: ReqScannerParameters) -> None:
    session.send(messages_data.scanner_parameters(scanner.parameters_xml()))


def _handle_scanner_subscription(session: Session, request: ReqScannerSubscription) -> None:
    if request.scan_code not in scanner.SCAN_CODES:
        # IB refuses a scan code its parameters document does not list with 162 on the subscription's id
        session.error(request.req_id, 162, f"{HMDS_ERROR}Scanner type with code {request.scan_code} is invalid")
        return
    market = session.world.market
    candidates = []
    for spec in session.world.catalog.all():
        if spec.sec_type == "STK" and scanner.in_location(spec, request.instrument, request.location_code):
            quote = market.quote(spec.con_id)
            candidates.append(scanner.Candidate(spec, quote.last, quote.close, quote.volume))
    ranked = scanner.rank(candidates, request.scan_code, request.number_of_rows, above_price=request.above_price,
                          below_price=request.below_price, above_volume=request.above_volume)
    if _open(session, request.req_id, Stream("scanner", None, request)):
        session.send(messages_data.scanner_data(request.req_id, list(enumerate((c.spec for c in ranked)))))


def _handle_cancel_scanner(session: Session, request: CancelScannerSubscription) -> None:
    _close(session, request.req_id, "scanner")


# --- market depth --------------------------------------------------------------------------------------------

def _handle_depth_exchanges(session: Session, request: ReqMktDepthExchanges) -> None:
    session.send(messages_data.mkt_depth_exchanges(session.server_version, DEPTH_EXCHANGES))


def _depth_rows(session: Session, req_id: int, stream: Stream, operation: int) -> list:
    """The book: the quote's bid and ask at the top, each level below a tick further and deeper."""
    spec, quote, request = stream.spec, stream.quote, stream.request
    rows = max(1, min(request.num_rows or 1, MAX_DEPTH_ROWS))
    tick = spec.min_tick
    batch = []
    for position in range(rows):
        for side, price, size in ((BID_SIDE, quote.bid - position * tick, quote.bid_size),
                                  (ASK_SIDE, quote.ask + position * tick, quote.ask_size)):
            price = round(price, 10)
            size = size * (position + 1)
            if request.smart_depth:
                batch.append(messages_data.depth_l2(session.server_version, req_id, position,
                                                    spec.primary_exchange or spec.exchange, operation, side,
                                                    price, size, True))
            else:
                batch.append(messages_data.depth(req_id, position, operation, side, price, size))
    return batch


def _handle_mkt_depth(session: Session, request: ReqMktDepth) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    if spec.sec_type == "IND":
        # an index has no book (TWS API error 10092: deep market data is not supported for this combination)
        session.error(request.req_id, 10092, "Deep market data is not supported for this combination of "
                                             "security type/exchange")
        return
    stream = Stream("depth", spec, request, quote=session.world.market.quote(spec.con_id))
    if _open(session, request.req_id, stream):
        session.send(*_depth_rows(session, request.req_id, stream, INSERT))


def _handle_cancel_mkt_depth(session: Session, request: CancelMktDepth) -> None:
    _close(session, request.req_id, "depth")


# --- real-time bars --------------------------------------------------------------------------------------------

def _handle_real_time_bars(session: Session, request: ReqRealTimeBars) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    what = (request.what_to_show or "TRADES").upper()
    if spec.sec_type == "CASH" and what == "TRADES":
        session.error(request.req_id, 162, f"{HMDS_ERROR}No market data permissions for {spec.symbol}/CASH "
                                           f"TRADES; use MIDPOINT, BID or ASK")
        return
    now_s = int(session.world.clock.now().timestamp())
    # IB sends the first bar when the current 5-second interval ends, then one every 5 seconds
    stream = Stream("bars", spec, request, next_bar_end_s=(now_s // REAL_TIME_BAR_S + 1) * REAL_TIME_BAR_S,
                    last_volume=session.world.market.quote(spec.con_id).volume)
    _open(session, request.req_id, stream)


def _bar_values(session: Session, stream: Stream, end_s: int) -> tuple[float, float, float, float, float]:
    """(open, high, low, close, average) of the 5-second bar ending at end_s, from the quarter-second prices the
    quotes showed in it (Market.price_at), a tick below or above them for BID and ASK, as the quotes are."""
    market, spec = session.world.market, stream.spec
    shift = {"BID": -spec.min_tick, "ASK": spec.min_tick}.get((stream.request.what_to_show or "").upper(), 0.0)
    moments = [end_s - REAL_TIME_BAR_S + (i + 1) * TICK_S for i in range(int(REAL_TIME_BAR_S / TICK_S))]
    prices = [round(market.price_at(spec.con_id, datetime.fromtimestamp(t, timezone.utc)) + shift, 10)
              for t in moments]
    return prices[0], max(prices), min(prices), prices[-1], round(sum(prices) / len(prices), 10)


def _bar_messages(session: Session, req_id: int, stream: Stream) -> list:
    now_s = int(session.world.clock.now().timestamp())
    if now_s < stream.next_bar_end_s:
        return []
    due = (now_s - stream.next_bar_end_s) // REAL_TIME_BAR_S + 1
    first_end = stream.next_bar_end_s + max(0, due - MAX_CATCH_UP_BARS) * REAL_TIME_BAR_S
    quote = session.world.market.quote(stream.spec.con_id)
    trades = (stream.request.what_to_show or "TRADES").upper() == "TRADES"
    volume = max(0.0, quote.volume - stream.last_volume) if trades else 0.0
    batch = []
    for end_s in range(first_end, now_s + 1, REAL_TIME_BAR_S):
        open_, high, low, close, average = _bar_values(session, stream, end_s)
        # the session volume is known now only: the newest bar carries what traded since the last one sent
        bar_volume = volume if end_s + REAL_TIME_BAR_S > now_s else 0.0
        batch.append(messages_data.real_time_bar(
            req_id, datetime.fromtimestamp(end_s - REAL_TIME_BAR_S, timezone.utc), open_, high, low, close,
            bar_volume, average, 1 if bar_volume else 0))
    stream.next_bar_end_s = now_s // REAL_TIME_BAR_S * REAL_TIME_BAR_S + REAL_TIME_BAR_S
    stream.last_volume = quote.volume
    return batch


def _handle_cancel_real_time_bars(session: Session, request: CancelRealTimeBars) -> None:
    _close(session, request.req_id, "bars")


# --- tick-by-tick ------------------------------------------------------------------------------------------------

def _tick_messages(req_id: int, stream: Stream, quote, previous) -> list:
    tick_type = TICK_BY_TICK_TYPES[stream.request.tick_type]
    spec = stream.spec
    if tick_type in (1, 2):
        if spec.sec_type in ("CASH", "IND") or (previous is not None and (quote.last, quote.last_size, quote.time)
                                                  == (previous.last, previous.last_size, previous.time)):
            return []
        return [messages_data.tick_by_tick_last(req_id, tick_type, quote.time, quote.last, quote.last_size,
                                                spec.primary_exchange or spec.exchange)]
    if spec.sec_type == "IND" or (previous is not None and (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
                                  == (previous.bid, previous.ask, previous.bid_size, previous.ask_size)):
        return []
    if tick_type == 3:
        return [messages_data.tick_by_tick_bid_ask(req_id, quote.time, quote.bid, quote.ask, quote.bid_size,
                                                   quote.ask_size)]
    return [messages_data.tick_by_tick_mid_point(req_id, quote.time, round((quote.bid + quote.ask) / 2, 10))]


def _handle_tick_by_tick(session: Session, request: ReqTickByTickData) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    if request.tick_type not in TICK_BY_TICK_TYPES:
        session.error(request.req_id, 321, f"Error validating request:-'97' : cause - Invalid tick-by-tick type "
                                           f"{request.tick_type} (Last, AllLast, BidAsk or MidPoint)")
        return
    quote = session.world.market.quote(spec.con_id)
    stream = Stream("ticks", spec, request, quote=quote)
    if _open(session, request.req_id, stream):
        # a liquid market ticks within moments of the subscription: the current trade or quote comes first
        batch = _tick_messages(request.req_id, stream, quote, None)
        if batch:
            session.send(*batch)


def _handle_cancel_tick_by_tick(session: Session, request: CancelTickByTickData) -> None:
    _close(session, request.req_id, "ticks")


def refresh_streams(session: Session) -> None:
    """Send depth, tick-by-tick and real-time bar subscriptions what changed since their last update."""
    market = session.world.market
    batch = []
    for req_id, stream in session.subs.streams.items():
        if stream.kind == "bars":
            batch += _bar_messages(session, req_id, stream)
        elif stream.kind in ("depth", "ticks"):
            quote = market.quote(stream.spec.con_id)
            if quote == stream.quote:
                continue
            previous, stream.quote = stream.quote, quote
            if stream.kind == "depth":
                batch += _depth_rows(session, req_id, stream, UPDATE)
            else:
                batch += _tick_messages(req_id, stream, quote, previous)
    if batch:
        session.send(*batch)


# --- histograms and historical ticks -----------------------------------------------------------------------------

def _handle_histogram(session: Session, request: ReqHistogramData) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    match = _HISTOGRAM_PERIOD.match(request.time_period)
    if match is None:
        session.error(request.req_id, 162, f"{HMDS_ERROR}Invalid period {request.time_period!r}: use "
                                           f"N days, N weeks or N months")
        return
    days = int(match.group(1)) * HISTOGRAM_UNITS_D[match.group(2).lower()]
    what = "MIDPOINT" if spec.sec_type == "CASH" else "TRADES"
    try:
        bars = session.world.market.bars(spec.con_id, end=None, duration=f"{days} D", bar_size="5 mins",
                                         use_rth=request.use_rth, what_to_show=what)
    except ValueError as exc:
        session.error(request.req_id, 162, str(exc))
        return
    bucket = spec.min_tick * 10
    counts: dict[float, int] = {}
    for bar in bars:
        level = round(round(bar.close / bucket) * bucket, 10)
        counts[level] = counts.get(level, 0) + max(1, bar.count)
    session.send(messages_data.histogram_data(request.req_id, sorted(counts.items())))


def _handle_cancel_histogram(session: Session, request: CancelHistogramData) -> None:
    return None


def _handle_historical_ticks(session: Session, request: ReqHistoricalTicks) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    what = request.what_to_show.upper()
    if what not in ("TRADES", "BID_ASK", "MIDPOINT") or (what == "TRADES" and spec.sec_type == "CASH"):
        session.error(request.req_id, 162, f"{HMDS_ERROR}whatToShow {request.what_to_show!r} is not available for "
                                           f"{spec.symbol}: use TRADES, BID_ASK or MIDPOINT")
        return
    count = max(1, min(request.number_of_ticks, MAX_HISTORICAL_TICKS))
    try:
        start = parse_ib_time(request.start, TWS_TIME_ZONE, abbreviations={})
        end = parse_ib_time(request.end, TWS_TIME_ZONE, date_only_at=END_OF_DAY, abbreviations={})
    except ValueError as exc:
        session.error(request.req_id, 10314, f"End Date/Time: The date, time, or time-zone entered is invalid "
                                             f"({exc})")
        return
    # one tick per traded minute of the price path, the newest `count` before the end (or the first `count` from
    # the start when only the start is given), as IB returns at most numberOfTicks around the asked edge
    now = session.world.clock.now()
    if end is None:
        end = now if start is None else min(now, start + timedelta(minutes=count))
    span_s = min(MAX_TICK_SPAN_S, max(60, (count + 1) * 60 if start is None else int((end - start).total_seconds())))
    try:
        bars = session.world.market.bars(spec.con_id, end=end, duration=f"{span_s} S", bar_size="1 min",
                                         use_rth=request.use_rth, what_to_show="MIDPOINT" if what != "TRADES"
                                         else "TRADES")
    except ValueError as exc:
        session.error(request.req_id, 162, str(exc))
        return
    if start is not None:
        bars = [bar for bar in bars if bar.time >= start][:count]
    else:
        bars = bars[-count:]
    tick = spec.min_tick
    if what == "TRADES":
        exchange = spec.primary_exchange or spec.exchange
        size = 100.0 if spec.sec_type == "STK" else 1.0
        ticks = [(bar.time, bar.close, size, exchange) for bar in bars]
        session.send(messages_data.historical_ticks_last(request.req_id, ticks))
    elif what == "BID_ASK":
        size = 1_000_000.0 if spec.sec_type == "CASH" else 100.0 if spec.sec_type == "STK" else 1.0
        # one tick either side of the midpoint path, as live quotes are
        ticks = [(bar.time, round(bar.close - tick, 10), round(bar.close + tick, 10), size, size) for bar in bars]
        session.send(messages_data.historical_ticks_bid_ask(request.req_id, ticks))
    else:
        session.send(messages_data.historical_ticks_midpoint(request.req_id, [(bar.time, bar.close) for bar in bars]))


HANDLERS = {
    ReqScannerParameters: _handle_scanner_parameters,
    ReqScannerSubscription: _handle_scanner_subscription,
    CancelScannerSubscription: _handle_cancel_scanner,
    ReqMktDepthExchanges: _handle_depth_exchanges,
    ReqMktDepth: _handle_mkt_depth,
    CancelMktDepth: _handle_cancel_mkt_depth,
    ReqRealTimeBars: _handle_real_time_bars,
    CancelRealTimeBars: _handle_cancel_real_time_bars,
    ReqTickByTickData: _handle_tick_by_tick,
    CancelTickByTickData: _handle_cancel_tick_by_tick,
    ReqHistogramData: _handle_histogram,
    CancelHistogramData: _handle_cancel_histogram,
    ReqHistoricalTicks: _handle_historical_ticks,
}
