"""Pre-trade checks: IB's rejections of invalid orders, the buying power check and what-if previews."""

from __future__ import annotations

import dataclasses
import math

from simulator.engine.account import money, value_account
from simulator.engine.commissions import Commission, commission_for
from simulator.engine.ib_messages import REJECTED_PREFIX
from simulator.engine.ib_time import parse_ib_time
from simulator.engine.margin import Requirement, forex_order_requirement, position_requirement
from simulator.engine.order_types import needs_limit, order_type_rejection
from simulator.engine.orders import OrderRequest

TIFS = frozenset({"DAY", "GTC", "IOC", "GTD", "OPG"})
TRADABLE_SEC_TYPES = frozenset({"STK", "FUT", "CASH"})
ALGO_STRATEGIES = frozenset({"", "Adaptive"})
REJECTED = REJECTED_PREFIX

# (IB error code, IB error text)
Rejection = tuple[int, str]


def side_sign(action: str) -> int:
    return 1 if action == "BUY" else -1


def normalized(request: OrderRequest, account: str) -> OrderRequest:
    """A private copy with IB's upper-case codes and the account filled in when the client left it empty."""
    return dataclasses.replace(
        request, action=request.action.upper(), order_type=request.order_type.upper(),
        tif=(request.tif or "DAY").upper(), account=request.account or account,
        algo_params=list(request.algo_params), extra=dict(request.extra))


def invalid_order(spec, request: OrderRequest, *, account: str, parent_known: bool) -> Rejection | None:
    """IB's error for an order that cannot be accepted as given (None when it can)."""
    if spec.sec_type not in TRADABLE_SEC_TYPES:
        return 201, f"{REJECTED}Orders for security type {spec.sec_type} are not supported"
    if request.action not in ("BUY", "SELL"):
        return 201, f"{REJECTED}Invalid action {request.action!r}: must be BUY or SELL"
    quantity = request.total_quantity
    if quantity is None or not math.isfinite(quantity) or quantity <= 0:
        return 201, f"{REJECTED}The order size must be positive"
    if request.tif not in TIFS:
        return 201, f"{REJECTED}Unsupported time in force {request.tif}"
    rejection = order_type_rejection(spec, request)
    if rejection is not None:
        return rejection
    if needs_limit(request):
        limit = request.lmt_price
        if limit is None or not math.isfinite(limit) or limit >= 1e300:
            return 201, f"{REJECTED}A limit price is required for a {request.order_type} order"
        if limit <= 0:
            return 201, f"{REJECTED}The limit price must be positive"
    # IDEALPRO takes sub-tick forex prices, so only stocks and futures are held to their tick
    prices = [request.lmt_price if needs_limit(request) else None,
              request.aux_price if request.order_type in ("STP", "STP LMT") else None]
    if spec.sec_type != "CASH" and any(p is not None and not _on_tick(p, spec.min_tick) for p in prices):
        return 110, "The price does not conform to the minimum price variation for this contract."
    if request.algo_strategy not in ALGO_STRATEGIES:
        return 201, f"{REJECTED}Unsupported algo strategy {request.algo_strategy}"
    if request.account != account:
        return 201, f"{REJECTED}Invalid account code {request.account}"
    try:
        parse_ib_time(request.good_after_time)
        good_till = parse_ib_time(request.good_till_date)
    except ValueError as exc:
        return 201, f"{REJECTED}{exc}"
    if request.tif == "GTD" and good_till is None:
        return 201, f"{REJECTED}A GTD order needs a good till date"
    if not parent_known:
        return 201, f"{REJECTED}Parent order {request.parent_id} not found"
    return None


def _on_tick(price: float, min_tick: float) -> bool:
    if not min_tick or min_tick <= 0:
        return True
    ticks = price / min_tick
    return abs(ticks - round(ticks)) < 1e-6


def side_price(market, con_id: int, action: str) -> float:
    """The side of the quote an order takes (ask for buys, bid for sells), else the market price."""
    quote = market.quote(con_id)
    price = quote.ask if action == "BUY" else quote.bid
    return price if price and price > 0 else market.price(con_id)


def _reference_price(market, spec, request: OrderRequest) -> float:
    """The price an order is expected to fill at: its limit, else the side of the quote it would take."""
    if needs_limit(request) and request.lmt_price:
        return request.lmt_price
    return side_price(market, spec.con_id, request.action)


def order_margin(ledger, market, base_currency: str, spec, request: OrderRequest,
                 quantity: float) -> tuple[Requirement, Commission]:
    """Margin (in base) a fill of `quantity` would add to the account, and that fill's commission."""
    price = _reference_price(market, spec, request)
    commission = commission_for(spec, quantity, price, market.fx_rate(spec.currency, "USD"))
    rate = market.fx_rate(spec.currency, base_currency)
    if spec.sec_type == "CASH":
        return Requirement(initial=forex_order_requirement(quantity * price * rate)), commission
    holding = ledger.holdings.get(spec.con_id)
    before = holding.quantity if holding else 0.0
    after = before + side_sign(request.action) * quantity
    args = (spec.sec_type, spec.trading_class)
    multiplier = spec.multiplier or 1.0
    added = (position_requirement(*args, after, price, multiplier)
             + position_requirement(*args, before, price, multiplier).scaled(-1.0))
    return added.scaled(rate), commission


def margin_shortfall(ledger, market, base_currency: str, spec, request: OrderRequest,
                     quantity: float) -> Rejection | None:
    """IB's rejection when the available funds cannot carry `quantity` more of the order (None if they can).

    Orders that reduce margin (closing or reducing a position) always pass.
    """
    if quantity <= 0:
        return None
    added, commission = order_margin(ledger, market, base_currency, spec, request, quantity)
    needed = added.initial + commission.amount * market.fx_rate(commission.currency, base_currency)
    valuation = value_account(ledger, market, base_currency)
    if added.initial <= 0 or needed <= valuation.available_funds:
        return None
    return 201, (f"{REJECTED}YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
                 f"EQUITY WITH LOAN VALUE [{money(valuation.equity_with_loan)} {base_currency}] MUST EXCEED THE "
                 f"INITIAL MARGIN [{money(valuation.total.margin.initial + needed)} {base_currency}]")


def preview(ledger, market, base_currency: str, spec, request: OrderRequest) -> dict:
    """What-if figures for a valid order: margin before/change/after (IB's texts) and its commission."""
    valuation = value_account(ledger, market, base_currency)
    added, commission = order_margin(ledger, market, base_currency, spec, request, request.total_quantity)
    init_before = valuation.total.margin.initial
    maint_before = valuation.total.margin.maintenance
    ewl = valuation.equity_with_loan
    fee = commission.amount * market.fx_rate(commission.currency, base_currency)
    margin = {
        "initMarginBefore": init_before, "maintMarginBefore": maint_before, "equityWithLoanBefore": ewl,
        "initMarginChange": added.initial, "maintMarginChange": added.maintenance, "equityWithLoanChange": -fee,
        "initMarginAfter": init_before + added.initial, "maintMarginAfter": maint_before + added.maintenance,
        "equityWithLoanAfter": ewl - fee}
    return {"margin": {key: money(value) for key, value in margin.items()}, "commission": commission.amount,
            "commission_currency": commission.currency, "warning_text": ""}
