"""Placing orders and learning from the broker what became of each one, on the IB loop, without fixed sleeps."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from ib_async import Contract, LimitOrder, MarketOrder, Order, TagValue, Trade

from lib.broker.parsing import CONFIRMED_STATES, UNCONFIRMED, OrderOutcome, broker_status, outcome
from lib.gateway import ib_requests

log = logging.getLogger(__name__)

ADAPTIVE_PRIORITIES = ("Urgent", "Normal", "Patient")
# after an error on an order IB has reported nothing about, how long its order lists are asked before giving up
ERROR_WAIT_S = 5.0
LIST_POLL_S = 1.0


def adaptive_order(action: str, quantity: int, *, priority: str, order_ref: str, account: str = "",
                   order_id: int = 0, good_after_time: str = "", outside_rth: bool = False,
                   limit_price: float | None = None) -> Order:
    """IB's Adaptive algo, tif DAY: it works the order inside the spread instead of crossing it. A market order,
    or a limit order when `limit_price` is given."""
    if priority not in ADAPTIVE_PRIORITIES:
        raise ValueError(f"adaptive priority must be one of {', '.join(ADAPTIVE_PRIORITIES)}, got {priority!r}")
    common = dict(orderId=order_id, algoStrategy="Adaptive", algoParams=[TagValue("adaptivePriority", priority)],
                  tif="DAY", orderRef=order_ref, account=account, goodAfterTime=good_after_time,
                  outsideRth=outside_rth)
    if limit_price is None:
        return MarketOrder(action, quantity, **common)
    return LimitOrder(action, quantity, limit_price, **common)


async def confirmation(ib, trade: Trade, timeout_s: float) -> OrderOutcome:
    """Wait until IB itself reports the order working or ended, or the timeout passes.

    An error on the order is not its end (ib_async marks the order Cancelled, or "ValidationError", locally on
    IB's errors and warnings; see `broker_status`): the order's fate is then asked of IB's open and completed orders, and an error after which
    IB reports nothing at all ends the wait after `ERROR_WAIT_S` (a rejection TWS sent no further word about),
    leaving the order unconfirmed for reconciliation to settle.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    error_end = None
    changed = asyncio.Event()

    def on_change(*_):
        changed.set()

    trade.statusEvent += on_change
    try:
        while True:
            status = broker_status(trade)
            if status == "Inactive":
                # held (IB may revive it) or rejected: a rejected order is among the completed ones
                return await listed_outcome(ib, trade) or outcome(trade)
            if status in CONFIRMED_STATES:
                return outcome(trade)
            if any(entry.errorCode for entry in trade.log):
                listed = await listed_outcome(ib, trade)
                if listed is not None:
                    return listed
                error_end = error_end or loop.time() + ERROR_WAIT_S
                end = min(end, error_end)
            remaining = end - loop.time()
            if remaining <= 0:
                log.warning("order %s not confirmed within %.1f s", trade.order.orderId, timeout_s)
                return outcome(trade, UNCONFIRMED)
            changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, LIST_POLL_S))
    finally:
        trade.statusEvent -= on_change


async def listed_outcome(ib, trade: Trade) -> OrderOutcome | None:
    """The order's outcome as IB's order lists give it: ended when among the completed orders (matched by permId,
    or by orderRef and contract when no openOrder brought the permId), working when among the open orders; None
    when IB lists it nowhere yet."""
    open_trades, completed = await asyncio.gather(ib_requests.all_open_orders(ib), ib_requests.completed_orders(ib))
    order, con_id = trade.order, trade.contract.conId
    for listed in completed:
        same = (listed.order.permId == order.permId if order.permId
                else (listed.order.orderRef, listed.contract.conId) == (order.orderRef, con_id))
        if same:
            filled = listed.order.filledQuantity
            return outcome(trade, listed.orderStatus.status, ended=True,
                           filled=filled if 0 <= filled < 1e300 else None)
    for listed in open_trades:
        if (listed.order.clientId, listed.order.orderId) == (order.clientId, order.orderId):
            status = broker_status(trade)
            return outcome(trade, status if status in CONFIRMED_STATES else listed.orderStatus.status, ended=False)
    return None


async def place_and_confirm(ib, orders: list[tuple[Contract, Order]], timeout_s: float) -> list[OrderOutcome]:
    """Place every order at once (the connection's pacer spaces the messages), then wait for all confirmations
    concurrently."""
    trades = [ib.placeOrder(contract, order) for contract, order in orders]
    return list(await asyncio.gather(*(confirmation(ib, trade, timeout_s) for trade in trades)))
