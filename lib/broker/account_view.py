"""The operator's view of the account in one bridge round trip: the broker's clock, positions, the portfolio's
market values and every client's working orders, copied into plain data on the IB loop. It only reads."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from lib.broker.parsing import BrokerPosition, ib_number
from lib.broker.snapshots import positions
from lib.gateway import ib_requests


@dataclass(frozen=True)
class PortfolioLine:
    """One portfolio item of reqAccountUpdates: "unless there is a position change this information is updated at
    a fixed interval of three minutes" (TWS API docs, "Account Updates").

    Attributes:
        market_value: position x price x multiplier, in the contract's currency.
        average_cost: per unit, multiplier included (IB's averageCost).
        unrealized_pnl: market_value - position x average_cost.
    """

    account: str
    con_id: int
    local_symbol: str
    position: float
    market_price: float | None
    market_value: float | None
    average_cost: float | None
    unrealized_pnl: float | None


@dataclass(frozen=True)
class WorkingOrder:
    """An open order of any client of the account (reqAllOpenOrders). IB lists an order placed in TWS by hand with
    clientId 0 and, until an API client binds it, orderId 0 (TWS API docs, "Open Orders")."""

    account: str
    perm_id: int
    client_id: int
    order_id: int
    con_id: int
    local_symbol: str
    action: str
    total_quantity: float
    filled: float
    remaining: float
    status: str
    order_type: str
    limit_price: float | None
    tif: str
    order_ref: str


@dataclass(frozen=True)
class AccountView:
    broker_time: datetime
    positions: list[BrokerPosition]
    portfolio: list[PortfolioLine]
    working_orders: list[WorkingOrder]
    account_values: list


def portfolio_line(item) -> PortfolioLine:
    contract = item.contract
    return PortfolioLine(item.account, contract.conId, contract.localSymbol or contract.symbol, item.position,
                         ib_number(item.marketPrice), ib_number(item.marketValue), ib_number(item.averageCost),
                         ib_number(item.unrealizedPNL))


def working_order(trade) -> WorkingOrder:
    order, status, contract = trade.order, trade.orderStatus, trade.contract
    return WorkingOrder(order.account, order.permId, order.clientId, order.orderId, contract.conId,
                        contract.localSymbol or contract.symbol, order.action, order.totalQuantity, status.filled,
                        status.remaining, status.status, order.orderType,
                        ib_number(order.lmtPrice) if order.orderType in ("LMT", "STP LMT") else None, order.tif,
                        order.orderRef)


async def account_view(ib) -> AccountView:
    """The broker's time, positions, portfolio, working orders and account values (run on the IB loop)."""
    broker_time, trades, position_list = await asyncio.gather(
        ib_requests.current_time(ib), ib_requests.all_open_orders(ib), positions(ib))
    return AccountView(
        broker_time=broker_time,
        positions=position_list,
        portfolio=[portfolio_line(item) for item in ib.portfolio() if item.position],
        working_orders=[working_order(t) for t in trades],
        account_values=list(ib.accountValues()))
