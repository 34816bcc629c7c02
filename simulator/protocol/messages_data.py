"""Encode the market-data messages beyond quotes and bars: scanner parameters and results, market depth and
depth exchanges, real-time bars, tick-by-tick ticks, histograms and historical ticks."""

from __future__ import annotations

from datetime import datetime

from simulator.protocol.messages import Fields
from simulator.protocol.messages_market import whole

# outgoing message ids (TWS API IN.*)
MARKET_DEPTH = 12
MARKET_DEPTH_L2 = 13
SCANNER_PARAMETERS = 19
SCANNER_DATA = 20
REAL_TIME_BARS = 50
MKT_DEPTH_EXCHANGES = 80
HISTOGRAM_DATA = 89
HISTORICAL_TICKS = 96
HISTORICAL_TICKS_BID_ASK = 97
HISTORICAL_TICKS_LAST = 98
TICK_BY_TICK = 99

# TWS API MIN_SERVER_VER_SMART_DEPTH / MIN_SERVER_VER_SERVICE_DATA_TYPE
SV_SMART_DEPTH = 146
SV_SERVICE_DATA_TYPE = 120

# tick-by-tick types as the request names them and as tickByTick carries them
TICK_BY_TICK_TYPES = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}

# updateMktDepth operations and sides
INSERT, UPDATE, DELETE = 0, 1, 2
ASK_SIDE, BID_SIDE = 0, 1


def scanner_parameters(xml: str) -> Fields:
    return [SCANNER_PARAMETERS, 1, xml]


def scanner_data(req_id: int, rows: list[tuple[int, object]]) -> Fields:
    """scannerData, version 3 (with conIds): one row per (rank, spec); clients end the scan on this message."""
    fields: Fields = [SCANNER_DATA, 3, req_id, len(rows)]
    for rank, spec in rows:
        fields += [rank, spec.con_id, spec.symbol, spec.sec_type, spec.last_trade_date, 0.0, "",
                   spec.exchange, spec.currency, spec.local_symbol, spec.trading_class, spec.trading_class,
                   "", "", "", ""]
    return fields


def depth_l2(server_version: int, req_id: int, position: int, market_maker: str, operation: int, side: int,
             price: float, size: float, smart_depth: bool) -> Fields:
    """updateMktDepthL2 (an exchange's book row); v146 adds isSmartDepth."""
    fields: Fields = [MARKET_DEPTH_L2, 1, req_id, position, market_maker, operation, side, price, whole(size)]
    if server_version >= SV_SMART_DEPTH:
        fields.append(smart_depth)
    return fields


def depth(req_id: int, position: int, operation: int, side: int, price: float, size: float) -> Fields:
    """updateMktDepth (one book row, no market maker)."""
    return [MARKET_DEPTH, 1, req_id, position, operation, side, price, whole(size)]


def mkt_depth_exchanges(server_version: int, rows: list[tuple[str, str, str, str, int]]) -> Fields:
    """(exchange, secType, listingExch, serviceDataType, aggGroup) rows; before v120 exchange, secType, isL2."""
    fields: Fields = [MKT_DEPTH_EXCHANGES, len(rows)]
    for exchange, sec_type, listing, service_type, agg_group in rows:
        if server_version >= SV_SERVICE_DATA_TYPE:
            fields += [exchange, sec_type, listing, service_type, agg_group]
        else:
            fields += [exchange, sec_type, service_type == "Deep2"]
    return fields


def real_time_bar(req_id: int, start: datetime, open_: float, high: float, low: float, close: float,
                  volume: float, wap: float, count: int) -> Fields:
    return [REAL_TIME_BARS, 3, req_id, int(start.timestamp()), open_, high, low, close, whole(volume), wap, count]


def tick_by_tick_last(req_id: int, tick_type: int, moment: datetime, price: float, size: float,
                      exchange: str) -> Fields:
    """Last (1) or AllLast (2); mask 0 (neither past limit nor unreported), no special conditions."""
    return [TICK_BY_TICK, req_id, tick_type, int(moment.timestamp()), price, whole(size), 0, exchange, ""]


def tick_by_tick_bid_ask(req_id: int, moment: datetime, bid: float, ask: float, bid_size: float,
                         ask_size: float) -> Fields:
    return [TICK_BY_TICK, req_id, 3, int(moment.timestamp()), bid, ask, whole(bid_size), whole(ask_size), 0]


def tick_by_tick_mid_point(req_id: int, moment: datetime, mid_point: float) -> Fields:
    return [TICK_BY_TICK, req_id, 4, int(moment.timestamp()), mid_point]


def histogram_data(req_id: int, rows: list[tuple[float, int]]) -> Fields:
    fields: Fields = [HISTOGRAM_DATA, req_id, len(rows)]
    for price, count in rows:
        fields += [price, count]
    return fields


def historical_ticks_midpoint(req_id: int, ticks: list[tuple[datetime, float]], done: bool = True) -> Fields:
    """historicalTicks (MIDPOINT); each tick carries an unused field before its price, and size 0."""
    fields: Fields = [HISTORICAL_TICKS, req_id, len(ticks)]
    for moment, price in ticks:
        fields += [int(moment.timestamp()), "", price, 0]
    return fields + [done]


def historical_ticks_bid_ask(req_id: int, ticks: list[tuple[datetime, float, float, float, float]],
                             done: bool = True) -> Fields:
    fields: Fields = [HISTORICAL_TICKS_BID_ASK, req_id, len(ticks)]
    for moment, bid, ask, bid_size, ask_size in ticks:
        fields += [int(moment.timestamp()), 0, bid, ask, whole(bid_size), whole(ask_size)]
    return fields + [done]


def historical_ticks_last(req_id: int, ticks: list[tuple[datetime, float, float, str]],
                          done: bool = True) -> Fields:
    fields: Fields = [HISTORICAL_TICKS_LAST, req_id, len(ticks)]
    for moment, price, size, exchange in ticks:
        fields += [int(moment.timestamp()), 0, price, whole(size), exchange, ""]
    return fields + [done]
