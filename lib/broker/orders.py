"""Placing orders and learning from the broker what became of each one, on the IB loop, without fixed sleeps."""
from __future__ import annotations

import asyncio
import logging
from ib_insync import Contract, LimitOrder, MarketOrder, Order, TagValue, Trade

from lib.broker.parsing import CONFIRMED_STATES, UNCONFIRMED, OrderOutcome, outcome

log = logging.getLogger(__name__)

ADAPTIVE_PRIORITIES = ("Urgent", "Normal", "Patient")


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


async def confirmation(trade: Trade, timeout_s: float) -> OrderOutcome:
    """Wait until IB reports a working or final state for the trade, or the timeout passes."""
    confirmed = asyncio.Event()

    def check(*_):
        if trade.orderStatus.status in CONFIRMED_STATES:
            confirmed.set()

    trade.statusEvent += check
    try:
        check()
        await asyncio.wait_for(confirmed.wait(), timeout_s)
    except asyncio.TimeoutError:
        log.warning("order %s not confirmed within %.1f s", trade.order.orderId, timeout_s)
        return outcome(trade, UNCONFIRMED)
    finally:
        trade.statusEvent -= check
    return outcome(trade)


async def place_and_confirm(ib, orders: list[tuple[Contract, Order]], timeout_s: float) -> list[OrderOutcome]:
    """Place every order at once (ib_insync paces the messages), then wait for all confirmations concurrently."""
    trades = [ib.placeOrder(contract, order) for contract, order in orders]
    return list(await asyncio.gather(*(confirmation(trade, timeout_s) for trade in trades)))

