"""Sending strategy orders so that nothing is lost: record in the ledger, send, confirm, settle.

Each order is counted in the run's claim and written to the ledger before it leaves, with the orderId reserved for
it on the current connection, so an execution can be traced to its strategies even if the connection drops right
after sending. Whether anything left is decided in one place (`SendGate`): when the send certainly never started,
the records and the claim's count are given back. Confirmations are awaited concurrently with a deadline; what the
broker said is then settled in the ledger (permId, state, and executions already received, exactly once).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Callable

from ib_async import IB, Contract, MarketOrder, Order

from lib.broker.orders import ADAPTIVE_PRIORITIES, adaptive_order, place_and_confirm
from lib.deadline import Deadline
from lib.errors import GatewayUnavailable, InvalidConfig, note_orders_sent
from lib.gateway import ib_requests
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.run_claims import RunClaim

log = logging.getLogger(__name__)

# time kept back from the request budget for recording what the broker said after confirmation ends
SETTLE_RESERVE_S = 3.0


class ConnectionChanged(GatewayUnavailable):
    """The connection changed between reserving orderIds and sending: nothing was sent."""


class SendAbandoned(GatewayUnavailable):
    """The caller gave up before the IB loop started sending: nothing was sent."""


class IdsSuperseded(GatewayUnavailable):
    """Between reserving the orderIds and sending, the connection saw an order under an id as high: IB would
    refuse the orders (103). Nothing was sent; the run reserves new ids and records the orders again."""

    def __init__(self, floor: int):
        super().__init__(f"an order under id {floor} reached the connection before the orders were sent; "
                         "nothing was sent")
        self.floor = floor


# attempts at reserving, recording and sending orders whose ids something superseded in between
ID_ATTEMPTS = 3


class SendGate:
    """Decides, once and for both threads, whether the orders left: the IB loop opens it just before the first
    placeOrder, the request thread closes it when the send failed. Whichever comes first wins, so a request
    thread that closed it knows that nothing was sent, and a loop that finds it closed sends nothing."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = "waiting"

    def open(self) -> bool:
        """On the IB loop, right before sending: whether sending may start."""
        with self._lock:
            if self._state == "waiting":
                self._state = "open"
            return self._state == "open"

    def close(self) -> bool:
        """On the request thread after a failure: whether the send certainly never started."""
        with self._lock:
            if self._state == "waiting":
                self._state = "closed"
            return self._state == "closed"


@dataclass(frozen=True)
class StrategyOrder:
    """A net order for one contract and each strategy's signed share of it (quantity = sum of source); an Adaptive
    market order unless it has a limit price. A `conversion` (a cash balance exchanged through FXCONV) is a plain
    market order that belongs to no strategy (empty source) and changes no holdings."""

    contract: Contract
    quantity: int
    source: dict[str, int]
    limit_price: float | None = None
    conversion: bool = False

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
                  now: Callable[[], str], result: SendResult, claim: RunClaim) -> SendResult:
    """Count `orders` in the run's claim, record, send and confirm them, then settle them in the ledger.

    `result.sent` counts the orders that may have reached the broker as soon as they may have, and an exception
    raised once they may have carries them (`lib.errors.orders_sent`): the run's answer and activity say so.

    Raises:
        ClaimLost: another run holds the claim now; nothing was recorded or sent.
        GatewayUnavailable, GatewayTimeout: the send failed; when it certainly never started (the bridge was not
            ready, the deadline had passed, the connection changed) the records and the claim's count are given
            back, otherwise the records stay in flight for reconciliation.
    """
    if not orders:
        return result
    above = 0
    for attempt in range(1, ID_ATTEMPTS + 1):
        try:
            return _record_and_send(bridge, ledger, orders, style, deadline, now, result, claim, above)
        except IdsSuperseded as exc:
            if attempt == ID_ATTEMPTS:
                raise
            log.warning("orderIds superseded before sending (attempt %d): %s; reserving new ones", attempt, exc)
            above = exc.floor
    return result


def _record_and_send(bridge, ledger: Ledger, orders: list[StrategyOrder], style: OrderStyle, deadline: Deadline,
                     now: Callable[[], str], result: SendResult, claim: RunClaim, above: int) -> SendResult:
    client_id, order_ids, gateway_now = bridge.run(partial(reserve_order_ids, count=len(orders), above=above),
                                                   timeout_s=deadline.remaining_s())
    recorded = ledger.recorded_order_ids(client_id)
    if recorded & set(order_ids):
        # IB's next valid id after a reconnect skips only the ids it saw: one whose order never reached it (lost in
        # a restart) is offered again while its record still waits to be cleared
        client_id, order_ids, gateway_now = bridge.run(
            partial(reserve_order_ids, count=len(orders), above=max(recorded)), timeout_s=deadline.remaining_s())
    placed_at = now()
    claim.expect_orders(len(orders), style.order_ref)
    try:
        ledger.record_pending([
            {"orderId": order_id, "clientId": client_id, "conId": order.contract.conId, "orderRef": style.order_ref,
             "quantity": order.quantity, "source": order.source, "placedAt": placed_at,
             "tradingDay": trading_date(gateway_now).isoformat(),
             **({} if order.limit_price is None else {"limitPrice": order.limit_price}),
             **({"kind": "conversion"} if order.conversion else {})}
            for order, order_id in zip(orders, order_ids)])
    except Exception:
        claim.withdraw_orders(len(orders))
        raise
    gate = SendGate()
    left = [{"orderId": order_id, "clientId": client_id, "conId": order.contract.conId,
             "localSymbol": order.contract.localSymbol, "action": order.action, "quantity": abs(order.quantity),
             "orderRef": style.order_ref, "source": order.source} for order, order_id in zip(orders, order_ids)]
    try:
        outcomes = _send(bridge, orders, order_ids, client_id, style, deadline, gate)
    except Exception as exc:
        if gate.close():
            ledger.remove_orders(client_id, order_ids)
            claim.withdraw_orders(len(orders))
            log.warning("%d order(s) recorded but never sent; records and claim given back", len(orders))
        else:
            result.sent = len(orders)
            note_orders_sent(exc, left)
        raise
    result.sent = len(orders)
    # IB's answers before they are recorded: should the process die while recording them, the log still says
    # what IB answered for the orderRef that a retry will settle the run by
    log.info("%d order(s) under %s answered by IB: %s", len(outcomes), style.order_ref,
             ", ".join(f"{o.order_id} {o.status}" for o in outcomes),
             extra={"fields": {"event": "ordersAnswered", "orderRef": style.order_ref}})
    try:
        _settle(ledger, orders, outcomes, client_id, result)
    except Exception as exc:
        note_orders_sent(exc, left)
        raise
    return result


async def reserve_order_ids(ib: IB, count: int, above: int = 0) -> tuple[int, list[int], datetime]:
    """This connection's clientId, `count` orderIds reserved on it (all above `above` and every orderId the
    connection has seen), and the gateway's clock (the trading day the orders belong to, as IB's day-long lists of
    executions and completed orders will)."""
    ib.client.updateReqId(max(above, highest_order_id_seen(ib)) + 1)
    client_id, order_ids = ib.client.clientId, [ib.client.getReqId() for _ in range(count)]
    return client_id, order_ids, await ib_requests.current_time(ib)


def highest_order_id_seen(ib: IB) -> int:
    """The highest orderId among the orders this connection knows: its own and those IB listed to it (reqAll-
    OpenOrders lists every client's; completed orders count too, which is only more careful). IB takes a new order
    only under an id above every id the client used and every id returned to it in openOrder (TWS API, Placing
    Orders, "The Next Valid Identifier"; 103 "Duplicate order id" otherwise). Call on the IB loop."""
    return max((trade.order.orderId for trade in ib.wrapper.trades.values()), default=0)


def _send(bridge, orders: list[StrategyOrder], order_ids: list[int], client_id: int, style: OrderStyle,
          deadline: Deadline, gate: SendGate):
    ib_orders = [_ib_order(order, order_id, style) for order, order_id in zip(orders, order_ids)]

    async def send(ib: IB):
        if ib.client.clientId != client_id:
            raise ConnectionChanged("the gateway connection changed before the orders were sent; nothing was sent")
        # another send on this connection, or an order another client placed that IB listed meanwhile, may have
        # taken the ids above these; checked here, with no message between the check and the placeOrders below
        floor = highest_order_id_seen(ib)
        if floor >= min(order_ids):
            raise IdsSuperseded(floor)
        if not gate.open():
            raise SendAbandoned("the run gave up before the orders were sent; nothing was sent")
        pairs = [(order.contract, ib_order) for order, ib_order in zip(orders, ib_orders)]
        return await place_and_confirm(ib, pairs, timeout_s=max(0.5, deadline.remaining_s() - SETTLE_RESERVE_S))

    return bridge.run(send, timeout_s=deadline.remaining_s())


def _ib_order(order: StrategyOrder, order_id: int, style: OrderStyle) -> Order:
    if order.conversion:
        return MarketOrder(order.action, abs(order.quantity), orderId=order_id, tif="DAY", orderRef=style.order_ref,
                           account=style.account)
    return adaptive_order(order.action, abs(order.quantity), priority=style.priority, order_ref=style.order_ref,
                          account=style.account, order_id=order_id, good_after_time=style.good_after_time,
                          outside_rth=style.outside_rth, limit_price=order.limit_price)


def _settle(ledger: Ledger, orders: list[StrategyOrder], outcomes, client_id: int, result: SendResult) -> None:
    for order, outcome in zip(orders, outcomes):
        received = sum(fill.shares for fill in outcome.fills)
        # IB reported the end and every execution is in hand: the unfilled rest will never fill
        done = outcome.ended and received >= outcome.filled
        changes = ledger.settle(client_id=client_id, order_id=outcome.order_id, perm_id=outcome.perm_id,
                                status=outcome.status, fills=outcome.fills, done=done, error=outcome.error,
                                local_symbol=outcome.local_symbol)
        report = outcome.to_dict()
        report["source"] = order.source
        report["holdingChanges"] = {s: q for s, q in changes.items() if q}
        result.reports.append(report)
        if outcome.ended and outcome.status != "Filled":
            log.warning("order %s %s %s ended %s: %s", outcome.action, outcome.quantity, outcome.local_symbol,
                        outcome.status, outcome.error or "no reason given")
        elif outcome.warnings:
            log.warning("order %s %s %s is %s with IB's notices %s", outcome.action, outcome.quantity,
                        outcome.local_symbol, outcome.status, [w["code"] for w in outcome.warnings])
