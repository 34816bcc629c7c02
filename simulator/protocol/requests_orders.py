"""Decode order requests: placeOrder, cancels, open and completed orders, executions and order ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.protocol.requests_common import ContractFields, read_contract, read_tag_values, skip_combo_legs
from simulator.protocol.versions import (
    SV_ADVANCED_ORDER_REJECT, SV_AUTO_CANCEL_PARENT, SV_AUTO_PRICE_FOR_HEDGE, SV_CASH_QTY, SV_D_PEG_ORDERS,
    SV_DECISION_MAKER, SV_DURATION, SV_EXT_OPERATOR, SV_MANUAL_ORDER_TIME, SV_MIFID_EXECUTION, SV_MODELS_SUPPORT,
    SV_ORDER_CONTAINER, SV_POST_TO_ATS, SV_PRICE_MGMT_ALGO, SV_SOFT_DOLLAR_TIER)
from simulator.protocol.wire import UNSET_DOUBLE, FieldReader, MalformedRequest

# fields after the type of each order condition type (price, time, margin, execution, volume, % change)
_CONDITION_FIELD_COUNTS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}


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
class ReqGlobalCancel:
    pass


@dataclass
class ReqCompletedOrders:
    api_only: bool


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


def parse_place_order(r: FieldReader, sv: int) -> PlaceOrder:
    """placeOrder, read field by field in EClient.placeOrder's order; fields the gateway ignores are skipped."""
    if sv < SV_ORDER_CONTAINER:
        r.int("version")
    order_id = r.int("orderId")
    contract = read_contract(r)
    contract.sec_id_type = r.str("secIdType")
    contract.sec_id = r.str("secId")
    o = OrderFields()
    _read_main_terms(r, o)
    if contract.sec_type == "BAG":
        _skip_combo_order_fields(r)
    _read_timing_and_allocation(r, o, sv)
    _read_volatility_and_scale(r, o)
    _read_algo_and_conditions(r, o)
    _read_versioned_fields(r, o, sv)
    # PEG BEST / PEG MID / IBKRATS extras (v170+) only matter for order types the gateway rejects
    return PlaceOrder(order_id, contract, o)


def _read_main_terms(r: FieldReader, o: OrderFields) -> None:
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


def _skip_combo_order_fields(r: FieldReader) -> None:
    skip_combo_legs(r, 8)
    r.skip(r.int("orderComboLegsCount"), "orderComboLegPrice")
    read_tag_values(r, "smartComboRoutingParams")


def _read_timing_and_allocation(r: FieldReader, o: OrderFields, sv: int) -> None:
    """sharesAllocation .. overridePercentageConstraints."""
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


def _read_volatility_and_scale(r: FieldReader, o: OrderFields) -> None:
    """volatility .. clearingIntent, with the trailing stop fields among them."""
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


def _read_algo_and_conditions(r: FieldReader, o: OrderFields) -> None:
    """notHeld .. adjustedOrderParams: algo, whatIf and the order conditions."""
    o.not_held = r.bool("notHeld")
    if r.bool("deltaNeutralContractPresent"):
        r.skip(3, "deltaNeutralContract")
    o.algo_strategy = r.str("algoStrategy")
    if o.algo_strategy:
        o.algo_params = read_tag_values(r, "algoParams")
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


def _read_versioned_fields(r: FieldReader, o: OrderFields, sv: int) -> None:
    """The fields later server versions appended, each present from its version on."""
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


def parse_cancel_order(r: FieldReader, sv: int) -> CancelOrder:
    r.int("version")
    order_id = r.int("orderId")
    manual = r.str_or("", "manualOrderCancelTime") if sv >= SV_MANUAL_ORDER_TIME else ""
    return CancelOrder(order_id, manual)
