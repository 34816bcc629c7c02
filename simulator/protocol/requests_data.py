"""Decode the market-data requests beyond quotes and bars: scanners, depth, real-time bars, tick-by-tick,
histograms and historical ticks."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.protocol.requests_common import ContractFields, read_contract
from simulator.protocol.wire import FieldReader

# TWS API MIN_SERVER_VER_SCANNER_GENERIC_OPTS / MIN_SERVER_VER_SMART_DEPTH / MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE
SV_SCANNER_GENERIC_OPTS = 143
SV_SMART_DEPTH = 146
SV_TICK_BY_TICK_IGNORE_SIZE = 140


@dataclass
class ReqScannerSubscription:
    req_id: int
    number_of_rows: int
    instrument: str
    location_code: str
    scan_code: str
    above_price: float | None
    below_price: float | None
    above_volume: int


@dataclass
class CancelScannerSubscription:
    req_id: int


@dataclass
class ReqScannerParameters:
    pass


@dataclass
class ReqMktDepth:
    req_id: int
    contract: ContractFields
    num_rows: int
    smart_depth: bool


@dataclass
class CancelMktDepth:
    req_id: int


@dataclass
class ReqMktDepthExchanges:
    pass


@dataclass
class ReqRealTimeBars:
    req_id: int
    contract: ContractFields
    bar_size: int
    what_to_show: str
    use_rth: bool


@dataclass
class CancelRealTimeBars:
    req_id: int


@dataclass
class ReqTickByTickData:
    req_id: int
    contract: ContractFields
    tick_type: str
    number_of_ticks: int
    ignore_size: bool


@dataclass
class CancelTickByTickData:
    req_id: int


@dataclass
class ReqHistogramData:
    req_id: int
    contract: ContractFields
    use_rth: bool
    time_period: str


@dataclass
class CancelHistogramData:
    req_id: int


@dataclass
class ReqHistoricalTicks:
    req_id: int
    contract: ContractFields
    start: str
    end: str
    number_of_ticks: int
    what_to_show: str
    use_rth: bool


def parse_req_scanner_subscription(r: FieldReader, sv: int) -> ReqScannerSubscription:
    if sv < SV_SCANNER_GENERIC_OPTS:
        r.int("version")
    req_id = r.int("reqId")
    rows = r.int("numberOfRows", default=-1)
    instrument, location, scan_code = r.str("instrument"), r.str("locationCode"), r.str("scanCode")
    above_price, below_price = r.float("abovePrice"), r.float("belowPrice")
    above_volume = r.int("aboveVolume", default=0)
    # the filters that follow (market cap, ratings, maturities, coupons, option volume, settings, stock type,
    # filter and subscription options) select among bonds and ratings the catalog does not model
    return ReqScannerSubscription(req_id, rows, instrument, location, scan_code, above_price, below_price,
                                  above_volume)


def parse_req_mkt_depth(r: FieldReader, sv: int) -> ReqMktDepth:
    r.int("version")
    req_id = r.int("reqId")
    contract = read_contract(r)
    rows = r.int("numRows", default=5)
    smart = r.bool("isSmartDepth") if sv >= SV_SMART_DEPTH else False
    return ReqMktDepth(req_id, contract, rows, smart)


def parse_cancel_mkt_depth(r: FieldReader, sv: int) -> CancelMktDepth:
    r.int("version")
    return CancelMktDepth(r.int("reqId"))


def parse_req_real_time_bars(r: FieldReader, sv: int) -> ReqRealTimeBars:
    r.int("version")
    req_id = r.int("reqId")
    contract = read_contract(r)
    bar_size = r.int("barSize", default=5)
    return ReqRealTimeBars(req_id, contract, bar_size, r.str("whatToShow"), r.bool("useRTH"))


def parse_req_tick_by_tick(r: FieldReader, sv: int) -> ReqTickByTickData:
    req_id = r.int("reqId")
    contract = read_contract(r)
    tick_type = r.str("tickType")
    count, ignore_size = 0, False
    if sv >= SV_TICK_BY_TICK_IGNORE_SIZE:
        count, ignore_size = r.int("numberOfTicks"), r.bool("ignoreSize")
    return ReqTickByTickData(req_id, contract, tick_type, count, ignore_size)


def parse_req_histogram_data(r: FieldReader, sv: int) -> ReqHistogramData:
    req_id = r.int("reqId")
    contract = read_contract(r)
    contract.include_expired = r.bool("includeExpired")
    return ReqHistogramData(req_id, contract, r.bool("useRTH"), r.str("timePeriod"))


def parse_req_historical_ticks(r: FieldReader, sv: int) -> ReqHistoricalTicks:
    req_id = r.int("reqId")
    contract = read_contract(r)
    contract.include_expired = r.bool("includeExpired")
    start, end = r.str("startDateTime"), r.str("endDateTime")
    count = r.int("numberOfTicks")
    what, use_rth = r.str("whatToShow"), r.bool("useRth")
    return ReqHistoricalTicks(req_id, contract, start, end, count, what, use_rth)
