"""Encode order messages: openOrder, orderStatus, completedOrder, execDetails, commissionReport."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.protocol.messages import (
    COMMISSION_REPORT, COMPLETED_ORDER, COMPLETED_ORDERS_END, EXECUTION_DATA, EXECUTION_DATA_END,
    OPEN_ORDER, OPEN_ORDER_END, ORDER_STATUS, Fields, contract_block)
from simulator.protocol.versions import (
    SV_AUTO_CANCEL_PARENT, SV_D_PEG_ORDERS, SV_LAST_LIQUIDITY, SV_MARKET_CAP_PRICE, SV_MODELS_SUPPORT,
    SV_OPEN_ORDER_DURATION, SV_ORDER_CONTAINER, SV_PEGBEST_PEGMID_OFFSETS, SV_POST_TO_ATS, SV_PRICE_MGMT_ALGO,
    SV_WHAT_IF_EXT_FIELDS)
from simulator.protocol.wire import UNSET_DOUBLE

# what TWS writes in what-if margin fields when it has no value
UNSET_TEXT = "1.7976931348623157E308"


@dataclass
class OrderView:
    """What order messages report about one order (built from the broker's order record).

    Parameters:
        order_id, client_id, perm_id, parent_id: identifiers as the placing client knows them.
        action, total_quantity, order_type, lmt_price, aux_price, tif, account, order_ref, outside_rth,
        good_after_time, good_till_date, oca_group, oca_type, hidden, algo_strategy, algo_params, trigger_method,
        trail_stop_price, trailing_percent: the order terms.
        status, filled, remaining, avg_fill_price, last_fill_price, why_held: the current state.
        warning_text: text shown with the order state (e.g. a rejection reason).
        completed_time, completed_status: for completed orders ("Filled", "Cancelled by Trader"...).
        what_if: a margin preview rather than an order; the margin fields then carry the preview.
    """

    order_id: int
    client_id: int
    perm_id: int
    action: str
    total_quantity: float
    order_type: str
    status: str
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = "DAY"
    account: str = ""
    order_ref: str = ""
    outside_rth: bool = False
    good_after_time: str = ""
    good_till_date: str = ""
    oca_group: str = ""
    oca_type: int = 0
    trigger_method: int = 0
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    hidden: bool = False
    parent_id: int = 0
    algo_strategy: str = ""
    algo_params: list[tuple[str, str]] = field(default_factory=list)
    filled: float = 0.0
    remaining: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    why_held: str = ""
    warning_text: str = ""
    completed_time: str = ""
    completed_status: str = ""
    what_if: bool = False
    margin: dict[str, str] = field(default_factory=dict)
    commission: float | None = None
    commission_currency: str = ""


def _price(value: float | None) -> float:
    """Limit/aux prices: TWS reports 0 when an order type has none."""
    return 0.0 if value is None else value


def _oca_type(order: OrderView) -> int:
    """TWS reports ocaType 3 on orders that set none (as openOrder logs show, e.g. erdewit/ib_insync#509)."""
    return order.oca_type or 3


def _algo_fields(order: OrderView) -> Fields:
    fields: Fields = [order.algo_strategy]
    if order.algo_strategy:
        fields.append(len(order.algo_params))
        for tag, value in order.algo_params:
            fields += [tag, value]
    return fields


def open_order(server_version: int, order: OrderView, spec, *, exchange: str | None = None) -> Fields:
    """openOrder exactly as both decoders read it (v145+: no version field)."""
    fields: Fields = [OPEN_ORDER] if server_version >= SV_ORDER_CONTAINER else [OPEN_ORDER, 34]
    fields += [order.order_id, *contract_block(spec, exchange=exchange)]
    fields += [
        order.action, order.total_quantity, order.order_type, _price(order.lmt_price),
        _price(order.aux_price), order.tif, order.oca_group, order.account, "", 0, order.order_ref,
        order.client_id, order.perm_id, order.outside_rth, order.hidden, 0.0, order.good_after_time,
        "",                      # sharesAllocation (deprecated)
        "", "", "", ""]          # faGroup, faMethod, faPercentage, faProfile
    if server_version >= SV_MODELS_SUPPORT:
        fields.append("")        # modelCode
    fields += [
        order.good_till_date, "", None, "",     # goodTillDate, rule80A, percentOffset, settlingFirm
        0, "", -1,                              # shortSaleSlot, designatedLocation, exemptCode
        0,                                      # auctionStrategy
        None, None, None,                       # startingPrice, stockRefPrice, delta
        None, None,                             # stockRangeLower, stockRangeUpper
        0, False, False, False, None,           # displaySize, blockOrder, sweepToFill, allOrNone, minQty
        _oca_type(order), False, False, None,   # ocaType, eTradeOnly, firmQuoteOnly, nbboPriceCap
        order.parent_id, order.trigger_method,  # parentId, triggerMethod
        None, 0, "", None,                      # volatility, volatilityType, deltaNeutral type/aux
        False, 0,                               # continuousUpdate, referencePriceType
        order.trail_stop_price, order.trailing_percent,
        None, None,                             # basisPoints, basisPointsType
        "", 0, 0,                               # comboLegsDescrip, comboLegs, orderComboLegs
        0,                                      # smartComboRoutingParams
        None, None, None,                       # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",                                     # hedgeType
        False, "", "IB", False,                 # optOutSmartRouting, clearingAccount/Intent, notHeld
        False]                                  # deltaNeutralContract present
    fields += _algo_fields(order)
    fields += [False, order.what_if, order.status]   # solicited, whatIf, status
    fields += _order_state_fields(server_version, order)
    fields += [0]                               # conditions
    # adjusted order params: adjustedOrderType, triggerPrice, trailStopPrice (again), lmtPriceOffset, ...
    fields += ["", None, order.trail_stop_price, None, None, None, None, 0]
    fields += ["", "", ""]                      # soft dollar tier name, value, display name
    fields += [None, False]                     # cashQty, dontUseAutoPriceForHedge
    fields += _open_order_versioned_fields(server_version)
    return fields


def _order_state_fields(server_version: int, order: OrderView) -> Fields:
    """The margin figures (a what-if preview's answer; unset for live orders), commission and warning."""
    margin = order.margin
    margin_keys = ["initMarginBefore", "maintMarginBefore", "equityWithLoanBefore",
                   "initMarginChange", "maintMarginChange", "equityWithLoanChange"]
    fields: Fields = []
    if server_version >= SV_WHAT_IF_EXT_FIELDS:
        fields += [margin.get(key, UNSET_TEXT) for key in margin_keys]
    fields += [margin.get(key, UNSET_TEXT) for key in
               ("initMarginAfter", "maintMarginAfter", "equityWithLoanAfter")]
    fields += [order.commission, None, None, order.commission_currency, order.warning_text,
               False, False]                    # randomizeSize, randomizePrice
    return fields


def _open_order_versioned_fields(server_version: int) -> Fields:
    """openOrder's last fields, each present from its version on; the gateway models none of them."""
    fields: Fields = []
    if server_version >= SV_ORDER_CONTAINER:
        fields.append(False)                    # isOmsContainer
    if server_version >= SV_D_PEG_ORDERS:
        fields.append(False)                    # discretionaryUpToLimitPrice
    if server_version >= SV_PRICE_MGMT_ALGO:
        fields.append(False)                    # usePriceMgmtAlgo
    if server_version >= SV_OPEN_ORDER_DURATION:
        fields.append(None)                     # duration
    if server_version >= SV_POST_TO_ATS:
        fields.append(None)                     # postToAts
    if server_version >= SV_AUTO_CANCEL_PARENT:
        fields.append(False)                    # autoCancelParent
    if server_version >= SV_PEGBEST_PEGMID_OFFSETS:
        fields += [None, None, None, None, None]
    return fields


def order_status(server_version: int, order: OrderView) -> Fields:
    fields: Fields = [ORDER_STATUS] if server_version >= SV_MARKET_CAP_PRICE else [ORDER_STATUS, 6]
    fields += [order.order_id, order.status, order.filled, order.remaining, order.avg_fill_price,
               order.perm_id, order.parent_id, order.last_fill_price, order.client_id, order.why_held]
    if server_version >= SV_MARKET_CAP_PRICE:
        fields.append(0.0)
    return fields


def open_order_end() -> Fields:
    return [OPEN_ORDER_END, 1]


def completed_order(server_version: int, order: OrderView, spec, *, exchange: str | None = None) -> Fields:
    """completedOrder (v150+): no order id, client id or margin fields; ends with completion info."""
    fields: Fields = [COMPLETED_ORDER, *contract_block(spec, exchange=exchange)]
    fields += [
        order.action, order.total_quantity, order.order_type, _price(order.lmt_price),
        _price(order.aux_price), order.tif, order.oca_group, order.account, "", 0, order.order_ref,
        order.perm_id, order.outside_rth, order.hidden, 0.0, order.good_after_time,
        "", "", "", "",                         # FA params
        "",                                     # modelCode
        order.good_till_date, "", None, "",     # goodTillDate, rule80A, percentOffset, settlingFirm
        0, "", -1,                              # shortSaleSlot, designatedLocation, exemptCode
        None, None, None, None, None,           # startingPrice .. stockRangeUpper
        0, False, False, None,                  # displaySize, sweepToFill, allOrNone, minQty
        _oca_type(order), order.trigger_method,  # ocaType, triggerMethod
        None, 0, "", None,                      # volatility, volatilityType, deltaNeutral type/aux
        False, 0,                               # continuousUpdate, referencePriceType
        order.trail_stop_price, order.trailing_percent,
        "", 0, 0, 0,                            # comboLegsDescrip, legs, order legs, smart combo params
        None, None, None,                       # scale fields
        "",                                     # hedgeType
        "", "IB", False,                        # clearingAccount, clearingIntent, notHeld
        False]                                  # deltaNeutralContract present
    fields += _algo_fields(order)
    fields += [False, order.status, False, False]   # solicited, status, randomizeSize, randomizePrice
    fields += [0]                                   # conditions
    fields += [order.trail_stop_price, None, None, False, False,   # trailStopPrice, lmtPriceOffset, cashQty, ...
               "", order.filled, 0, False, "", False, False, 0,
               order.completed_time, order.completed_status]
    if server_version >= SV_PEGBEST_PEGMID_OFFSETS:
        fields += [None, None, None, None, None]
    return fields


def completed_orders_end() -> Fields:
    return [COMPLETED_ORDERS_END]


def exec_details(server_version: int, req_id: int, execution, spec, time_text: str) -> Fields:
    """execDetails for one execution; reqId -1 for live fills."""
    old = server_version < SV_LAST_LIQUIDITY
    fields: Fields = [EXECUTION_DATA, 10] if old else [EXECUTION_DATA]
    fields += [req_id, execution.order_id,
               *contract_block(spec, exchange=execution.exchange),
               execution.exec_id, time_text, execution.account, execution.exchange, execution.side,
               execution.shares, execution.price, execution.perm_id, execution.client_id, 0,
               execution.cum_qty, execution.avg_price, execution.order_ref,
               getattr(execution, "ev_rule", ""), getattr(execution, "ev_multiplier", 0) or None]
    if server_version >= SV_MODELS_SUPPORT:
        fields.append(getattr(execution, "model_code", ""))
    if not old:
        fields.append(getattr(execution, "last_liquidity", 1))
    return fields


def exec_details_end(req_id: int) -> Fields:
    return [EXECUTION_DATA_END, 1, req_id]


def commission_report(execution) -> Fields:
    realized = execution.realized_pnl
    realized_text = UNSET_TEXT if realized is None or realized >= UNSET_DOUBLE else realized
    return [COMMISSION_REPORT, 1, execution.exec_id, execution.commission,
            execution.commission_currency, realized_text, UNSET_TEXT, None]
