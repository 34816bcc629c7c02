"""Parse incoming TWS API requests (client -> gateway) into dataclasses, honouring the server version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from simulator.protocol.versions import (
    SV_ADVANCED_ORDER_REJECT, SV_AUTO_CANCEL_PARENT, SV_AUTO_PRICE_FOR_HEDGE, SV_CASH_QTY, SV_D_PEG_ORDERS,
    SV_DECISION_MAKER, SV_DURATION, SV_EXT_OPERATOR, SV_MANUAL_ORDER_TIME, SV_MIFID_EXECUTION, SV_MODELS_SUPPORT,
    SV_ORDER_CONTAINER, SV_POST_TO_ATS, SV_PRICE_MGMT_ALGO, SV_REQ_SMART_COMPONENTS, SV_SOFT_DOLLAR_TIER,
    SV_SYNT_REALTIME_BARS)
from simulator.protocol.wire import UNSET_DOUBLE, FieldReader, MalformedRequest

# fields after the type of each order condition type (price, time, margin, execution, volume, % change)
_CONDITION_FIELD_COUNTS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}


@dataclass
class ContractFields:
    """The contract as a client describes it in a request (empty strings and 0 mean "not given")."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    include_expired: bool = False
    sec_id_type: str = ""
    sec_id: str = ""


@dataclass
class OrderFields:
    """The order fields of a placeOrder request that the gateway models or echoes back."""

    action: str = ""
    total_quantity: float = 0.0
    order_type: str = ""
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = ""
    oca_group: str = ""
    account: str = ""
    open_close: str = ""
    origin: int = 0
    order_ref: str = ""
    transmit: bool = True
    parent_id: int = 0
    block_order: bool = False
    sweep_to_fill: bool = False
    display_size: int = 0
    trigger_method: int = 0
    outside_rth: bool = False
    hidden: bool = False
    discretionary_amt: float = 0.0
    good_after_time: str = ""
    good_till_date: str = ""
    model_code: str = ""
    oca_type: int = 0
    rule_80a: str = ""
    all_or_none: bool = False
    min_qty: int | None = None
    percent_offset: float | None = None
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    algo_strategy: str = ""
    algo_params: list[tuple[str, str]] = field(default_factory=list)
    algo_id: str = ""
    what_if: bool = False
    not_held: bool = False
    solicited: bool = False
    conditions_count: int = 0
    cash_qty: float | None = None
    dont_use_auto_price_for_hedge: bool = False
    is_oms_container: bool = False
    discretionary_up_to_limit_price: bool = False
    use_price_mgmt_algo: bool | None = None
    duration: int | None = None
    post_to_ats: int | None = None
    auto_cancel_parent: bool = False
    advanced_error_override: str = ""
    manual_order_time: str = ""


@dataclass
class StartApi:
    client_id: int
    optional_capabilities: str = ""


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
class PlaceOrder:
    order_id: int
    contract: ContractFields
    order: OrderFields


@dataclass
class CancelOrder:
    order_id: int
    manual_cancel_time: str = ""


@dataclass
class ReqOpenOrders:
    pass


@dataclass
class ReqAllOpenOrders:
    pass


@dataclass
class ReqAutoOpenOrders:
    auto_bind: bool


@dataclass
class ReqAccountUpdates:
    subscribe: bool
    account: str


@dataclass
class ReqExecutions:
    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str
    sec_type: str
    exchange: str
    side: str


@dataclass
class ReqIds:
    num_ids: int


@dataclass
class ReqContractDetails:
    req_id: int
    contract: ContractFields


@dataclass
class ReqManagedAccts:
    pass


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
class ReqCurrentTime:
    pass


@dataclass
class ReqGlobalCancel:
    pass


@dataclass
class ReqMarketDataType:
    market_data_type: int


@dataclass
class ReqPositions:
    pass


@dataclass
class CancelPositions:
    pass


@dataclass
class ReqAccountSummary:
    req_id: int
    group: str
    tags: str


@dataclass
class CancelAccountSummary:
    req_id: int


@dataclass
class ReqPositionsMulti:
    req_id: int
    account: str
    model_code: str


@dataclass
class CancelPositionsMulti:
    req_id: int


@dataclass
class ReqAccountUpdatesMulti:
    req_id: int
    account: str
    model_code: str
    ledger_and_nlv: bool


@dataclass
class CancelAccountUpdatesMulti:
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


@dataclass
class ReqPnL:
    req_id: int
    account: str
    model_code: str


@dataclass
class CancelPnL:
    req_id: int


@dataclass
class ReqPnLSingle:
    req_id: int
    account: str
    model_code: str
    con_id: int


@dataclass
class CancelPnLSingle:
    req_id: int


@dataclass
class ReqCompletedOrders:
    api_only: bool


@dataclass
class ReqMatchingSymbols:
    req_id: int
    pattern: str


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


def read_contract(r: FieldReader) -> ContractFields:
    """Read the contract block most requests share (conId .. tradingClass)."""
    c = ContractFields()
    c.con_id = r.int("conId")
    c.symbol = r.str("symbol")
    c.sec_type = r.str("secType")
    c.last_trade_date = r.str("lastTradeDateOrContractMonth")
    c.strike = r.float("strike", 0.0)
    c.right = r.str("right")
    c.multiplier = r.str("multiplier")
    c.exchange = r.str("exchange")
    c.primary_exchange = r.str("primaryExchange")
    c.currency = r.str("currency")
    c.local_symbol = r.str("localSymbol")
    c.trading_class = r.str("tradingClass")
    c.right = "" if c.right in ("?", "0") else c.right
    c.multiplier = "" if c.multiplier in ("0", "0.0") else c.multiplier
    return c


def _skip_combo_legs(r: FieldReader, fields_per_leg: int) -> None:
    for _ in range(r.int("comboLegsCount")):
        r.skip(fields_per_leg, "comboLeg")


def _read_tag_values(r: FieldReader, what: str) -> list[tuple[str, str]]:
    count = r.int(f"{what}Count")
    if count < 0 or count > r.remaining:
        raise MalformedRequest(f"bad {what} count {count}")
    return [(r.str(f"{what}Tag"), r.str(f"{what}Value")) for _ in range(count)]


def _parse_start_api(r: FieldReader, sv: int) -> StartApi:
    r.int("version")
    client_id = r.int("clientId")
    return StartApi(client_id, r.str_or("", "optionalCapabilities"))


def _parse_req_mkt_data(r: FieldReader, sv: int) -> ReqMktData:
    r.int("version")
    req_id = r.int("reqId")
    contract = read_contract(r)
    if contract.sec_type == "BAG":
        _skip_combo_legs(r, 4)
    if r.bool("deltaNeutralContractPresent"):
        r.skip(3, "deltaNeutralContract")
    generic = r.str("genericTickList")
    snapshot = r.bool("snapshot")
    regulatory = r.bool("regulatorySnapshot") if sv >= SV_REQ_SMART_COMPONENTS else False
    return ReqMktData(req_id, contract, generic, snapshot, regulatory)


def _parse_place_order(r: FieldReader, sv: int) -> PlaceOrder:
    if sv < SV_ORDER_CONTAINER:
        r.int("version")
    order_id = r.int("orderId")
    contract = read_contract(r)
    contract.sec_id_type = r.str("secIdType")
    contract.sec_id = r.str("secId")
    o = OrderFields()
    o.action = r.str("action").upper()
    o.total_quantity = r.float("totalQuantity", 0.0)
    o.order_type = r.str("orderType").upper()
    o.lmt_price = r.float("lmtPrice")
    o.aux_price = r.float("auxPrice")
    o.tif = r.str("tif").upper()
    o.oca_group = r.str("ocaGroup")
    o.account = r.str("account")
    o.open_close = r.str("openClose")
    o.origin = r.int("origin")
    o.order_ref = r.str("orderRef")
    o.transmit = r.bool("transmit")
    o.parent_id = r.int("parentId")
    o.block_order = r.bool("blockOrder")
    o.sweep_to_fill = r.bool("sweepToFill")
    o.display_size = r.int("displaySize")
    o.trigger_method = r.int("triggerMethod")
    o.outside_rth = r.bool("outsideRth")
    o.hidden = r.bool("hidden")
    if contract.sec_type == "BAG":
        _skip_combo_legs(r, 8)
        r.skip(r.int("orderComboLegsCount"), "orderComboLegPrice")
        _read_tag_values(r, "smartComboRoutingParams")
    r.skip(1, "sharesAllocation")
    o.discretionary_amt = r.float("discretionaryAmt", 0.0)
    o.good_after_time = r.str("goodAfterTime")
    o.good_till_date = r.str("goodTillDate")
    r.skip(4, "faParams")
    if sv >= SV_MODELS_SUPPORT:
        o.model_code = r.str("modelCode")
    r.skip(2, "shortSaleSlot/designatedLocation")
    r.skip(1, "exemptCode")
    o.oca_type = r.int("ocaType")
    o.rule_80a = r.str("rule80A")
    r.skip(1, "settlingFirm")
    o.all_or_none = r.bool("allOrNone")
    o.min_qty = r.int("minQty", default=None)
    o.percent_offset = r.float("percentOffset")
    r.skip(2, "eTradeOnly/firmQuoteOnly")
    r.float("nbboPriceCap")
    r.int("auctionStrategy")
    r.skip(5, "boxAndPegParams")
    r.skip(1, "overridePercentageConstraints")
    r.float("volatility")
    r.int("volatilityType")
    delta_neutral_order_type = r.str("deltaNeutralOrderType")
    r.float("deltaNeutralAuxPrice")
    if delta_neutral_order_type:
        r.skip(8, "deltaNeutralOrderParams")
    r.skip(1, "continuousUpdate")
    r.int("referencePriceType")
    o.trail_stop_price = r.float("trailStopPrice")
    o.trailing_percent = r.float("trailingPercent")
    r.int("scaleInitLevelSize")
    r.int("scaleSubsLevelSize")
    scale_price_increment = r.float("scalePriceIncrement")
    if scale_price_increment is not None and 0 < scale_price_increment < UNSET_DOUBLE:
        r.skip(7, "scaleParams")
    r.skip(3, "scaleTable/activeStartTime/activeStopTime")
    if r.str("hedgeType"):
        r.skip(1, "hedgeParam")
    r.skip(1, "optOutSmartRouting")
    r.skip(2, "clearingAccount/clearingIntent")
    o.not_held = r.bool("notHeld")
    if r.bool("deltaNeutralContractPresent"):
        r.skip(3, "deltaNeutralContract")
    o.algo_strategy = r.str("algoStrategy")
    if o.algo_strategy:
        o.algo_params = _read_tag_values(r, "algoParams")
    o.algo_id = r.str("algoId")
    o.what_if = r.bool("whatIf")
    r.skip(1, "orderMiscOptions")
    o.solicited = r.bool("solicited")
    r.skip(2, "randomizeSize/randomizePrice")
    if o.order_type == "PEG BENCH":
        r.skip(5, "peggedToBenchmarkParams")
    o.conditions_count = r.int("conditionsCount")
    if o.conditions_count:
        for _ in range(o.conditions_count):
            condition_type = r.int("conditionType")
            if condition_type not in _CONDITION_FIELD_COUNTS:
                raise MalformedRequest(f"unknown order condition type {condition_type}")
            r.skip(_CONDITION_FIELD_COUNTS[condition_type], "condition")
        r.skip(2, "conditionsIgnoreRth/conditionsCancelOrder")
    r.skip(7, "adjustedOrderParams")
    if sv >= SV_EXT_OPERATOR:
        r.skip(1, "extOperator")
    if sv >= SV_SOFT_DOLLAR_TIER:
        r.skip(2, "softDollarTier")
    if sv >= SV_CASH_QTY:
        o.cash_qty = r.float("cashQty")
    if sv >= SV_DECISION_MAKER:
        r.skip(2, "mifid2Decision")
    if sv >= SV_MIFID_EXECUTION:
        r.skip(2, "mifid2Execution")
    if sv >= SV_AUTO_PRICE_FOR_HEDGE:
        o.dont_use_auto_price_for_hedge = r.bool("dontUseAutoPriceForHedge")
    if sv >= SV_ORDER_CONTAINER:
        o.is_oms_container = r.bool("isOmsContainer")
    if sv >= SV_D_PEG_ORDERS:
        o.discretionary_up_to_limit_price = r.bool("discretionaryUpToLimitPrice")
    if sv >= SV_PRICE_MGMT_ALGO:
        text = r.str("usePriceMgmtAlgo").strip()
        o.use_price_mgmt_algo = None if text == "" else text not in ("0", "false", "False")
    if sv >= SV_DURATION:
        o.duration = r.int("duration", default=None)
    if sv >= SV_POST_TO_ATS:
        o.post_to_ats = r.int("postToAts", default=None)
    if sv >= SV_AUTO_CANCEL_PARENT:
        o.auto_cancel_parent = r.bool("autoCancelParent")
    if sv >= SV_ADVANCED_ORDER_REJECT:
        o.advanced_error_override = r.str("advancedErrorOverride")
    if sv >= SV_MANUAL_ORDER_TIME:
        o.manual_order_time = r.str("manualOrderTime")
    # PEG BEST / PEG MID / IBKRATS extras (v170+) only matter for order types the gateway rejects
    return PlaceOrder(order_id, contract, o)


def _parse_cancel_order(r: FieldReader, sv: int) -> CancelOrder:
    r.int("version")
    order_id = r.int("orderId")
    manual = r.str_or("", "manualOrderCancelTime") if sv >= SV_MANUAL_ORDER_TIME else ""
    return CancelOrder(order_id, manual)


def _parse_req_account_updates(r: FieldReader, sv: int) -> ReqAccountUpdates:
    r.int("version")
    subscribe = r.bool("subscribe")
    return ReqAccountUpdates(subscribe, r.str_or("", "acctCode"))


def _parse_req_contract_details(r: FieldReader, sv: int) -> ReqContractDetails:
    r.int("version")
    req_id = r.int("reqId")
    c = read_contract(r)
    c.include_expired = r.bool("includeExpired")
    c.sec_id_type = r.str("secIdType")
    c.sec_id = r.str("secId")
    return ReqContractDetails(req_id, c)


def _parse_req_historical_data(r: FieldReader, sv: int) -> ReqHistoricalData:
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
        _skip_combo_legs(r, 4)
    keep_up_to_date = r.bool("keepUpToDate") if sv >= SV_SYNT_REALTIME_BARS else False
    return ReqHistoricalData(req_id, contract, end, bar_size, duration, use_rth, what_to_show,
                             format_date, keep_up_to_date)


def _parse_req_head_timestamp(r: FieldReader, sv: int) -> ReqHeadTimestamp:
    req_id = r.int("reqId")
    contract = read_contract(r)
    contract.include_expired = r.bool("includeExpired")
    use_rth = r.bool("useRTH")
    what_to_show = r.str("whatToShow")
    return ReqHeadTimestamp(req_id, contract, use_rth, what_to_show, r.int("formatDate", default=1))


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
    1: _parse_req_mkt_data,
    2: _simple(CancelMktData, "int:reqId"),
    3: _parse_place_order,
    4: _parse_cancel_order,
    5: _simple(ReqOpenOrders),
    6: _parse_req_account_updates,
    7: _simple(ReqExecutions, "int:reqId", "int:clientId", "str:acctCode", "str:time", "str:symbol",
               "str:secType", "str:exchange", "str:side"),
    8: _simple(ReqIds, "int:numIds"),
    9: _parse_req_contract_details,
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
    20: _parse_req_historical_data,
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
    87: _parse_req_head_timestamp,
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
