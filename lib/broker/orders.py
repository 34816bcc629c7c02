"""Placing orders and learning from the broker what became of each one, on the IB loop, without fixed sleeps."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field

from ib_insync import Contract, LimitOrder, MarketOrder, Order, TagValue, Trade

from lib.trading.ledger import ExecutionFill

log = logging.getLogger(__name__)

# States in which IB has taken responsibility for the order, or has finally refused it.
WORKING_STATES = frozenset({"PreSubmitted", "Submitted"})
FINAL_STATES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
ENDED_UNFILLED = FINAL_STATES - {"Filled"}
CONFIRMED_STATES = WORKING_STATES | FINAL_STATES
UNCONFIRMED = "Unconfirmed"
ADAPTIVE_PRIORITIES = ("Urgent", "Normal", "Patient")


@dataclass
class OrderOutcome:
    """What the broker said about one order by the time confirmation ended.

    Attributes:
        status: IB's order status, or "Unconfirmed" when the deadline passed first.
        error_code, error: the last IB error attached to the order (e.g. 201 and its rejection text).
        fills: executions already received for it.
    """

    con_id: int
    local_symbol: str
    action: str
    quantity: float
    order_id: int
    client_id: int
    perm_id: int
    order_ref: str
    order_type: str
    limit_price: float | None
    status: str
    filled: float
    remaining: float
    avg_fill_price: float
    error_code: int = 0
    error: str = ""
    fills: list[ExecutionFill] = field(default_factory=list)

    @property
    def working(self) -> bool:
        return self.status in WORKING_STATES or self.status == UNCONFIRMED

    def to_dict(self) -> dict:
        """camelCase like the rest of the service's JSON."""
        data = _camel(asdict(self))
        data["fills"] = [_camel(asdict(fill)) for fill in self.fills]
        return data


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


def execution_fill(fill) -> ExecutionFill:
    """The ledger's view of an ib_insync Fill."""
    execution = fill.execution
    return ExecutionFill(
        exec_id=execution.execId, perm_id=execution.permId, order_id=execution.orderId,
        client_id=execution.clientId, con_id=fill.contract.conId, order_ref=execution.orderRef or "",
        side=execution.side, shares=execution.shares, price=execution.price, time=execution.time.isoformat())


def outcome(trade: Trade, status: str | None = None) -> OrderOutcome:
    errors = [entry for entry in trade.log if entry.errorCode]
    last_error = errors[-1] if errors else None
    return OrderOutcome(
        con_id=trade.contract.conId, local_symbol=trade.contract.localSymbol or trade.contract.symbol,
        action=trade.order.action, quantity=trade.order.totalQuantity, order_id=trade.order.orderId,
        client_id=trade.order.clientId, perm_id=trade.order.permId, order_ref=trade.order.orderRef,
        order_type=trade.order.orderType, limit_price=trade.order.lmtPrice if trade.order.orderType == "LMT" else None,
        status=status or trade.orderStatus.status, filled=trade.orderStatus.filled,
        remaining=trade.orderStatus.remaining, avg_fill_price=trade.orderStatus.avgFillPrice,
        error_code=last_error.errorCode if last_error else 0, error=last_error.message if last_error else "",
        fills=[execution_fill(f) for f in trade.fills])


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


def _camel(data: dict) -> dict:
    return {_camel_name(key): value for key, value in data.items()}


def _camel_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
