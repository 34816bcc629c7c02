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


@dataclass
class Unsupported:
    """A known request the paper gateway does not model; answered with an error."""

    msg_id: int
    name: str
    req_id: int = -1


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


def _unsupported(msg_id: int, name: str, req_id_index: int | None) -> Parser:
    """Reply target for a known but unmodelled request; req_id_index counts fields after the id."""

    def parse(r: FieldReader, sv: int):
        req_id = -1
        if req_id_index is not None:
            r.skip(req_id_index - 1, "header")
            req_id = r.int("reqId", default=-1)
        return Unsupported(msg_id, name, req_id)

    return parse


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
    10: _unsupported(10, "market depth", 2),
    11: _ack(11),
    12: _ack(12),
    13: _ack(13),
    14: _ack(14),
    15: _simple(ReqAutoOpenOrders, "bool:autoBind"),
    16: _simple(ReqAllOpenOrders),
    17: _simple(ReqManagedAccts),
    18: _unsupported(18, "financial advisor configuration", None),
    19: _unsupported(19, "financial advisor configuration", None),
    20: parse_req_historical_data,
    21: _unsupported(21, "option exercise", 2),
    22: _unsupported(22, "market scanner", None),
    23: _ack(23),
    24: _unsupported(24, "market scanner", None),
    25: _simple(CancelHistoricalData, "int:reqId"),
    49: _simple(ReqCurrentTime),
    50: _unsupported(50, "real time bars", 2),
    51: _ack(51),
    52: _unsupported(52, "fundamental data", 2),
    53: _ack(53),
    54: _unsupported(54, "option calculations", 2),
    55: _unsupported(55, "option calculations", 2),
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
    67: _unsupported(67, "display groups", 2),
    68: _ack(68),
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
    78: _unsupported(78, "option chains", 1),
    79: _unsupported(79, "soft dollar tiers", 1),
    80: _unsupported(80, "family codes", None),
    81: _simple(ReqMatchingSymbols, "int:reqId", "str:pattern", versioned=False),
    82: _unsupported(82, "market depth", None),
    83: _unsupported(83, "smart components", 1),
    84: _unsupported(84, "news", 1),
    85: _unsupported(85, "news", None),
    86: _unsupported(86, "news", 1),
    87: parse_req_head_timestamp,
    88: _unsupported(88, "histogram data", 1),
    89: _ack(89),
    90: _simple(CancelHeadTimestamp, "int:reqId", versioned=False),
    91: _simple(ReqMarketRule, "int:marketRuleId", versioned=False),
    92: _simple(ReqPnL, "int:reqId", "str:account", "str:modelCode", versioned=False),
    93: _simple(CancelPnL, "int:reqId", versioned=False),
    94: _simple(ReqPnLSingle, "int:reqId", "str:account", "str:modelCode", "int:conId", versioned=False),
    95: _simple(CancelPnLSingle, "int:reqId", versioned=False),
    96: _unsupported(96, "historical ticks", 1),
    97: _unsupported(97, "tick-by-tick data", 1),
    98: _ack(98),
    99: _simple(ReqCompletedOrders, "bool:apiOnly", versioned=False),
    100: _unsupported(100, "Wall Street Horizon data", 1),
    101: _ack(101),
    102: _unsupported(102, "Wall Street Horizon data", 1),
    103: _ack(103),
    104: _unsupported(104, "user info", 1),
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
    positions = {1: 2, 2: 2, 4: 2, 7: 2, 9: 2, 20: 1, 25: 2, 62: 2, 63: 2, 74: 2, 76: 2,
                 87: 1, 92: 1, 94: 1}
    try:
        msg_id = int(fields[0])
        if msg_id == 3:
            return int(fields[1 if server_version >= SV_ORDER_CONTAINER else 2])
        index = positions.get(msg_id)
        return int(fields[index]) if index is not None else -1
    except (ValueError, IndexError):
        return -1
