"""Parse incoming TWS API requests (client -> gateway) into dataclasses, honouring the server version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from simulator.protocol.requests_account import (
    CancelAccountSummary, CancelAccountUpdatesMulti, CancelPnL, CancelPnLSingle, CancelPositions, CancelPositionsMulti,
    ReqAccountSummary, ReqAccountUpdatesMulti, ReqManagedAccts, ReqPnL, ReqPnLSingle, ReqPositions, ReqPositionsMulti,
    parse_req_account_updates)
from simulator.protocol.requests_market import (
    CancelHeadTimestamp, CancelHistoricalData, CancelMktData, ReqMarketDataType, ReqMarketRule, ReqMatchingSymbols,
    parse_req_contract_details, parse_req_head_timestamp, parse_req_historical_data, parse_req_mkt_data)
from simulator.protocol.requests_data import (
    SV_SCANNER_GENERIC_OPTS, CancelHistogramData, CancelRealTimeBars, CancelScannerSubscription, CancelTickByTickData,
    ReqMktDepthExchanges, ReqScannerParameters, parse_cancel_mkt_depth, parse_req_histogram_data, parse_req_historical_ticks,
    parse_req_mkt_depth, parse_req_real_time_bars, parse_req_scanner_subscription, parse_req_tick_by_tick)
from simulator.protocol.requests_reference import (
    QueryDisplayGroups, ReqFamilyCodes, ReqHistoricalNews, ReqNewsArticle, ReqNewsProviders, ReqSecDefOptParams,
    ReqSmartComponents, ReqSoftDollarTiers, ReqUserInfo, SubscribeToGroupEvents, parse_exercise_options, parse_replace_fa, parse_req_fundamental_data,
    parse_req_option_calculation, parse_request_fa, parse_wsh)
from simulator.protocol.requests_orders import (
    ReqAllOpenOrders, ReqAutoOpenOrders, ReqCompletedOrders, ReqExecutions, ReqGlobalCancel, ReqIds, ReqOpenOrders,
    parse_cancel_order, parse_place_order)
from simulator.protocol.versions import SV_ORDER_CONTAINER
from simulator.protocol.wire import FieldReader, MalformedRequest


@dataclass
class StartApi:
    client_id: int
    optional_capabilities: str = ""


@dataclass
class ReqCurrentTime:
    pass


@dataclass
class Acknowledged:
    """A request that needs no answer here (news bulletins, log level, display groups...)."""

    msg_id: int


Request = object
Parser = Callable[[FieldReader, int], Request]


def _parse_start_api(r: FieldReader, sv: int) -> StartApi:
    r.int("version")
    client_id = r.int("clientId")
    return StartApi(client_id, r.str_or("", "optionalCapabilities"))


def _simple(factory: Callable, *readers: str, versioned: bool = True) -> Parser:
    """Parser for requests made of simple typed fields, each given as "kind:name" (e.g. "int:reqId").

    The message is "<msgId> <version> <fields...>", or "<msgId> <fields...>" when not `versioned`.
    """

    def parse(r: FieldReader, sv: int):
        if versioned:
            r.int("version")
        return factory(*(getattr(r, kind)(name) for kind, name in
                         (reader.split(":") for reader in readers)))

    return parse


def _ack(msg_id: int) -> Parser:
    return lambda r, sv: Acknowledged(msg_id)


PARSERS: dict[int, Parser] = {
    1: parse_req_mkt_data,
    2: _simple(CancelMktData, "int:reqId"),
    3: parse_place_order,
    4: parse_cancel_order,
    5: _simple(ReqOpenOrders),
    6: parse_req_account_updates,
    7: _simple(ReqExecutions, "int:reqId", "int:clientId", "str:acctCode", "str:time", "str:symbol",
               "str:secType", "str:exchange", "str:side"),
    8: _simple(ReqIds, "int:numIds"),
    9: parse_req_contract_details,
    10: parse_req_mkt_depth,
    11: parse_cancel_mkt_depth,
    12: _ack(12),
    13: _ack(13),
    14: _ack(14),
    15: _simple(ReqAutoOpenOrders, "bool:autoBind"),
    16: _simple(ReqAllOpenOrders),
    17: _simple(ReqManagedAccts),
    18: parse_request_fa,
    19: parse_replace_fa,
    20: parse_req_historical_data,
    21: parse_exercise_options,
    22: parse_req_scanner_subscription,
    23: _simple(CancelScannerSubscription, "int:reqId"),
    24: _simple(ReqScannerParameters),
    25: _simple(CancelHistoricalData, "int:reqId"),
    49: _simple(ReqCurrentTime),
    50: parse_req_real_time_bars,
    51: _simple(CancelRealTimeBars, "int:reqId"),
    52: parse_req_fundamental_data,
    53: _ack(53),
    54: parse_req_option_calculation(54),
    55: parse_req_option_calculation(55),
    56: _ack(56),
    57: _ack(57),
    58: _simple(ReqGlobalCancel),
    59: _simple(ReqMarketDataType, "int:marketDataType"),
    61: _simple(ReqPositions),
    62: _simple(ReqAccountSummary, "int:reqId", "str:groupName", "str:tags"),
    63: _simple(CancelAccountSummary, "int:reqId"),
    64: _simple(CancelPositions),
    65: _ack(65),
    66: _ack(66),
    67: _simple(QueryDisplayGroups, "int:reqId"),
    68: _simple(SubscribeToGroupEvents, "int:reqId", "int:groupId"),
    69: _ack(69),
    70: _ack(70),
    71: _parse_start_api,
    72: _ack(72),
    73: _ack(73),
    74: _simple(ReqPositionsMulti, "int:reqId", "str:account", "str:modelCode"),
    75: _simple(CancelPositionsMulti, "int:reqId"),
    76: _simple(ReqAccountUpdatesMulti, "int:reqId", "str:account", "str:modelCode",
                   "bool:ledgerAndNLV"),
    77: _simple(CancelAccountUpdatesMulti, "int:reqId"),
    78: _simple(ReqSecDefOptParams, "int:reqId", "str:underlyingSymbol", "str:futFopExchange",
               "str:underlyingSecType", "int:underlyingConId", versioned=False),
    79: _simple(ReqSoftDollarTiers, "int:reqId", versioned=False),
    80: _simple(ReqFamilyCodes, versioned=False),
    81: _simple(ReqMatchingSymbols, "int:reqId", "str:pattern", versioned=False),
    82: _simple(ReqMktDepthExchanges, versioned=False),
    83: _simple(ReqSmartComponents, "int:reqId", "str:bboExchange", versioned=False),
    84: _simple(ReqNewsArticle, "int:reqId", "str:providerCode", "str:articleId", versioned=False),
    85: _simple(ReqNewsProviders, versioned=False),
    86: _simple(ReqHistoricalNews, "int:reqId", "int:conId", "str:providerCodes", versioned=False),
    87: parse_req_head_timestamp,
    88: parse_req_histogram_data,
    89: _simple(CancelHistogramData, "int:reqId", versioned=False),
    90: _simple(CancelHeadTimestamp, "int:reqId", versioned=False),
    91: _simple(ReqMarketRule, "int:marketRuleId", versioned=False),
    92: _simple(ReqPnL, "int:reqId", "str:account", "str:modelCode", versioned=False),
    93: _simple(CancelPnL, "int:reqId", versioned=False),
    94: _simple(ReqPnLSingle, "int:reqId", "str:account", "str:modelCode", "int:conId", versioned=False),
    95: _simple(CancelPnLSingle, "int:reqId", versioned=False),
    96: parse_req_historical_ticks,
    97: parse_req_tick_by_tick,
    98: _simple(CancelTickByTickData, "int:reqId", versioned=False),
    99: _simple(ReqCompletedOrders, "bool:apiOnly", versioned=False),
    100: parse_wsh(100),
    101: _ack(101),
    102: parse_wsh(102),
    103: _ack(103),
    104: _simple(ReqUserInfo, "int:reqId", versioned=False),
}


class UnknownMessage(MalformedRequest):
    """A message id this gateway does not know."""


def parse_request(fields: list[str], server_version: int) -> Request:
    """Turn one incoming message into its request dataclass.

    Raises:
        UnknownMessage: the message id is not a TWS request.
        MalformedRequest: a field is missing or has the wrong type.
    """
    if not fields:
        raise MalformedRequest("empty message")
    try:
        msg_id = int(fields[0])
    except ValueError:
        raise UnknownMessage(f"message id {fields[0]!r} is not a number") from None
    parser = PARSERS.get(msg_id)
    if parser is None:
        raise UnknownMessage(f"unknown message id {msg_id}")
    reader = FieldReader(fields)
    reader.skip(1, "msgId")
    return parser(reader, server_version)


def request_id_of(fields: list[str], server_version: int) -> int:
    """Best-effort request (or order) id of a message that failed to parse; -1 when it has none."""
    positions = {1: 2, 2: 2, 4: 2, 7: 2, 9: 2, 10: 2, 20: 1, 21: 2, 25: 2, 50: 2, 52: 2, 54: 2, 55: 2, 62: 2,
                 63: 2, 74: 2, 76: 2, 78: 1, 83: 1, 84: 1, 86: 1, 87: 1, 88: 1, 92: 1, 94: 1, 96: 1, 97: 1,
                 100: 1, 102: 1, 104: 1, 22: 2 if server_version < SV_SCANNER_GENERIC_OPTS else 1}
    try:
        msg_id = int(fields[0])
        if msg_id == 3:
            return int(fields[1 if server_version >= SV_ORDER_CONTAINER else 2])
        index = positions.get(msg_id)
        return int(fields[index]) if index is not None else -1
    except (ValueError, IndexError):
        return -1
