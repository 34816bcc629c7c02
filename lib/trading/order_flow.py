"""Sending strategy orders so that nothing is lost: record in the ledger, send, confirm, settle.

Each order is written to the ledger before it leaves, with the orderId reserved for it on the current connection,
so an execution can be traced to its strategies even if the connection drops right after sending. Confirmations
are awaited concurrently with a deadline; what the broker said is then settled in the ledger (permId, state, and
executions already received, exactly once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from ib_insync import IB, Contract

from lib.broker.orders import ADAPTIVE_PRIORITIES, adaptive_order, place_and_confirm
from lib.broker.parsing import ENDED_UNFILLED
from lib.deadline import Deadline
from lib.errors import GatewayUnavailable, InvalidConfig
from lib.trading.ledger import Ledger

log = logging.getLogger(__name__)

# time kept back from the request budget for recording what the broker said after confirmation ends
SETTLE_RESERVE_S = 3.0


class ConnectionChanged(GatewayUnavailable):
    """The connection changed between reserving orderIds and sending: nothing was sent."""


@dataclass(frozen=True)
class StrategyOrder:
    """A net order for one contract and each strategy's signed share of it (quantity = sum of source); a market
    order unless it has a limit price."""

    contract: Contract
    quantity: int
    source: dict[str, int]
    limit_price: float | None = None

    @property
    def action(self) -> str:
        return "BUY" if self.quantity > 0 else "SELL"


@dataclass
class OrderStyle:
    """How orders are sent: Adaptive orders, tif DAY, with these properties."""

    order_ref: str
    priority: str = "Normal"
    account: str = ""
    good_after_time: str = ""
    outside_rth: bool = False


def adaptive_priority(config) -> str:
    """Config `adaptivePriority` (default Normal), checked before anything is sent."""
    priority = config.get("adaptivePriority", "Normal")
    if priority not in ADAPTIVE_PRIORITIES:
        raise InvalidConfig("adaptivePriority", f"one of {', '.join(ADAPTIVE_PRIORITIES)}", priority)
    return priority


@dataclass
class SendResult:
    reports: list[dict] = field(default_factory=list)
    sent: int = 0


def send_recorded(bridge, ledger: Ledger, orders: list[StrategyOrder], style: OrderStyle, deadline: Deadline,
                  now: Callable[[], str], result: SendResult) -> SendResult:
    """Record, send and confirm `orders`, then settle them in the ledger.

    `result.sent` counts the orders that may have reached the broker as soon as they may have (so a caller that
    sees an exception still knows whether anything left).

    Raises:
        GatewayUnavailable: the connection was lost; orders recorded as pending stay in the ledger unless they
            certainly were not sent.
    """
    if not orders:
        return result
    client_id, order_ids = bridge.call(
        lambda ib: (ib.client.clientId, [ib.client.getReqId() for _ in orders]), timeout_s=deadline.remaining_s())
    placed_at = now()
    ledger.record_pending([
        {"orderId": order_id, "clientId": client_id, "conId": order.contract.conId, "orderRef": style.order_ref,
         "quantity": order.quantity, "source": order.source, "placedAt": placed_at,
         **({} if order.limit_price is None else {"limitPrice": order.limit_price})}
        for order, order_id in zip(orders, order_ids)])
    result.sent = len(orders)
    ib_orders = [adaptive_order(order.action, abs(order.quantity), priority=style.priority, order_ref=style.order_ref,
                                account=style.account, order_id=order_id, good_after_time=style.good_after_time,
                                outside_rth=style.outside_rth, limit_price=order.limit_price)
                 for order, order_id in zip(orders, order_ids)]

    async def send(ib: IB):
        if ib.client.clientId != client_id:
            raise ConnectionChanged("the gateway connection changed before the orders were sent; nothing was sent")
        pairs = [(order.contract, ib_order) for order, ib_order in zip(orders, ib_orders)]
        return await place_and_confirm(ib, pairs, timeout_s=max(0.5, deadline.remaining_s() - SETTLE_RESERVE_S))

    try:
        outcomes = bridge.run(send, timeout_s=deadline.remaining_s())
    except ConnectionChanged:
        for order_id in order_ids:
            ledger.remove_order(client_id, order_id)
        result.sent = 0
        raise
    for order, outcome in zip(orders, outcomes):
        received = sum(fill.shares for fill in outcome.fills)
        # a final state with every execution in hand: the unfilled rest will never fill
        done = outcome.status in ENDED_UNFILLED and received >= outcome.filled
        changes = ledger.settle(client_id=client_id, order_id=outcome.order_id, perm_id=outcome.perm_id,
                                status=outcome.status, fills=outcome.fills, done=done)
        report = outcome.to_dict()
        report["source"] = order.source
        report["holdingChanges"] = {s: q for s, q in changes.items() if q}
        result.reports.append(report)
        if not outcome.working and outcome.status != "Filled":
            log.warning("order %s %s %s ended %s: %s", outcome.action, outcome.quantity, outcome.local_symbol,
                        outcome.status, outcome.error or "no reason given")
    return result
