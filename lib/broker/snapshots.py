"""Coroutines that copy what IB knows into plain data in one bridge round trip, on the IB loop."""
from __future__ import annotations

import asyncio

from lib.broker.parsing import (BrokerPosition, BrokerSnapshot, account_summary, broker_execution, broker_orders,
                                broker_position, completed_by_perm_id, fills, latest_positions, open_trades,
                                portfolio)
from lib.gateway import ib_requests


async def positions(ib) -> list[BrokerPosition]:
    """The account's positions, one per account and contract: IB's answer can list a contract more than once
    (`latest_positions`), and every reader of positions would otherwise count it as often."""
    return [broker_position(p) for p in latest_positions(await ib_requests.positions(ib))]


async def broker_snapshot(ib) -> BrokerSnapshot:
    """Everything reconciliation reads from IB: executions, open and completed orders, positions, account values."""
    fill_list, trades, completed, position_list, gateway_now = await asyncio.gather(
        ib_requests.executions(ib), ib_requests.all_open_orders(ib), ib_requests.completed_orders(ib),
        positions(ib), ib_requests.current_time(ib))
    return BrokerSnapshot(
        gateway_now=gateway_now,
        executions=[broker_execution(f) for f in fill_list],
        open_orders=broker_orders(trades),
        completed=completed_by_perm_id(completed),
        positions=position_list,
        account_values=list(ib.accountValues()))


async def account_picture(ib) -> dict:
    """`summary`'s view: account values, portfolio, open trades and fills of every client of the account."""
    # both broker requests run concurrently, and ib_async's live objects are copied into plain data here, before
    # ib_async can change them again
    trades, fill_list = await asyncio.gather(ib_requests.all_open_orders(ib), ib_requests.executions(ib))
    return {
        "accountSummary": account_summary(ib.accountValues()),
        "portfolio": portfolio(ib.portfolio()),
        "openTrades": open_trades(trades),
        "fills": fills(fill_list),
    }
