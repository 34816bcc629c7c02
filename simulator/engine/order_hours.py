"""When an order may work: the session its contract and terms put it in, IB's notices about hours, DAY expiry.

IB accepts an order outside its session, shows it PreSubmitted with error 399 ("Your order will not be placed at
the exchange until ...") and sends it at the open. `outsideRth` lets a stock limit order work in extended hours
(04:00-20:00 New York); IB ignores it on market orders and on contracts whose session is their only one (futures,
forex), and says so with warning 2109. A DAY order expires at the close of the session it worked in.
"""

from __future__ import annotations

from datetime import datetime

from simulator.engine import ib_messages, trading_hours
from simulator.engine.ib_time import parse_ib_time
from simulator.engine.orders import OrderRequest
from simulator.engine.trading_hours import Session


def session_kind(spec, request: OrderRequest) -> str:
    """The trading_hours kind during which this order may fill."""
    if spec.sec_type == "STK":
        extended = request.outside_rth and request.order_type == "LMT"
        return trading_hours.STK_ETH if extended else trading_hours.STK_RTH
    return trading_hours.trading_kind(spec.sec_type)


def outside_rth_ignored(spec, request: OrderRequest) -> bool:
    """Whether IB ignores the order's outsideRth (and warns with 2109)."""
    return request.outside_rth and not (spec.sec_type == "STK" and request.order_type == "LMT")


def working_session(spec, request: OrderRequest, moment: datetime) -> Session:
    """The session the order works in when it is placed at `moment`: the one open then (or, for an order held
    until its goodAfterTime, then), else the next one."""
    good_after = parse_ib_time(request.good_after_time)
    start = max(moment, good_after) if good_after is not None else moment
    return trading_hours.session_at_or_after(session_kind(spec, request), start)


def day_order_end(spec, request: OrderRequest, moment: datetime) -> datetime | None:
    """When a DAY order placed at `moment` expires (its working session's close); None for other tifs."""
    if request.tif != "DAY":
        return None
    return working_session(spec, request, moment).end


def in_session(spec, request: OrderRequest, moment: datetime) -> bool:
    return trading_hours.is_open(session_kind(spec, request), moment)


def queued_warning(spec, request: OrderRequest, moment: datetime) -> tuple[int, str]:
    """IB's 399 for an order placed outside its session: it goes to the exchange at the next open."""
    opens = trading_hours.session_at_or_after(session_kind(spec, request), moment).start
    warning = ib_messages.queued_until(opens, spec.time_zone_id or "US/Eastern")
    return ib_messages.ORDER_MESSAGE, ib_messages.order_message(
        request.action, request.total_quantity, ib_messages.contract_description(spec), warning)
