"""Decode contract and market-data requests: details, symbols, quotes, history, head timestamps, market rules."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.protocol.requests_common import ContractFields, read_contract, skip_combo_legs
from simulator.protocol.versions import SV_REQ_SMART_COMPONENTS, SV_SYNT_REALTIME_BARS
from simulator.protocol.wire import FieldReader


@dataclass
class ReqMktData:
    req_id: int
    contract: ContractFields
    generic_ticks: str
    snapshot: bool
    regulatory_snapshot: bool


@dataclass
class CancelMktData:
    req_id: int


@dataclass
class ReqMarketDataType:
    market_data_type: int


@dataclass
class ReqContractDetails:
    req_id: int
    contract: ContractFields


@dataclass
class ReqMatchingSymbols:
    req_id: int
    pattern: str


@dataclass
class ReqHistoricalData:
    req_id: int
    contract: ContractFields
    end_date_time: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool


@dataclass
class CancelHistoricalData:
    req_id: int


@dataclass
class ReqHeadTimestamp:
    req_id: int
    contract: ContractFields
    use_rth: bool
    what_to_show: str
    format_date: int


@dataclass
class CancelHeadTimestamp:
    req_id: int


@dataclass
class ReqMarketRule:
    market_rule_id: int


def parse_req_mkt_data(r: FieldReader, sv: int) -> ReqMktData:
    r.int("version")
    req_id = r.int("reqId")
    contract = read_contract(r)
    if contract.sec_type == "BAG":
        skip_combo_legs(r, 4)
    if r.bool("deltaNeutralContractPresent"):
        r.skip(3, "deltaNeutralContract")
    generic = r.str("genericTickList")
    snapshot = r.bool("snapshot")
    regulatory = r.bool("regulatorySnapshot") if sv >= SV_REQ_SMART_COMPONENTS else False
    return ReqMktData(req_id, contract, generic, snapshot, regulatory)


def parse_req_contract_details(r: FieldReader, sv: int) -> ReqContractDetails:
    r.int("version")
    req_id = r.int("reqId")
    c = read_contract(r)
    c.include_expired = r.bool("includeExpired")
    c.sec_id_type = r.str("secIdType")
    c.sec_id = r.str("secId")
    return ReqContractDetails(req_id, c)


def parse_req_historical_data(r: FieldReader, sv: int) -> ReqHistoricalData:
    if sv < SV_SYNT_REALTIME_BARS:
        r.int("version")
    req_id = r.int("reqId")
    contract = read_contract(r)
    contract.include_expired = r.bool("includeExpired")
    end = r.str("endDateTime")
    bar_size = r.str("barSizeSetting")
    duration = r.str("durationStr")
    use_rth = r.bool("useRTH")
    what_to_show = r.str("whatToShow")
    format_date = r.int("formatDate", default=1)
    if contract.sec_type == "BAG":
        skip_combo_legs(r, 4)
    keep_up_to_date = r.bool("keepUpToDate") if sv >= SV_SYNT_REALTIME_BARS else False
    return ReqHistoricalData(req_id, contract, end, bar_size, duration, use_rth, what_to_show,
                             format_date, keep_up_to_date)


def parse_req_head_timestamp(r: FieldReader, sv: int) -> ReqHeadTimestamp:
    req_id = r.int("reqId")
    contract = read_contract(r)
    contract.include_expired = r.bool("includeExpired")
    use_rth = r.bool("useRTH")
    what_to_show = r.str("whatToShow")
    return ReqHeadTimestamp(req_id, contract, use_rth, what_to_show, r.int("formatDate", default=1))
