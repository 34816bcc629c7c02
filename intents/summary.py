"""`summary`: account values, portfolio, open trades and fills of every client of the account."""
from __future__ import annotations

import asyncio
import math
from collections import defaultdict

from intents.base import Intent
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.gateway import ib_requests

ACCOUNT_TAGS = ("NetLiquidation", "CashBalance", "MaintMarginReq")


def _number(value) -> float | None:
    """IB marks absent doubles with huge sentinels or NaN; JSON gets null for those."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or abs(number) >= 1e300:
        return None
    return number


def _symbol(contract) -> str:
    return contract.localSymbol or contract.symbol or str(contract.conId)


def account_summary(account_values) -> dict:
    summary: dict = {tag: {} for tag in ACCOUNT_TAGS}
    for value in account_values:
        if value.tag in summary and value.currency:
            summary[value.tag][value.currency] = _number(value.value)
    return summary


def portfolio(items) -> dict:
    return {
        _symbol(item.contract): {
            "conId": item.contract.conId,
            "position": item.position,
            "exposure": _number(item.marketValue),
            "marketPrice": _number(item.marketPrice),
            "averageCost": _number(item.averageCost),
            "unrealizedPNL": _number(item.unrealizedPNL),
        }
        for item in items
        if item.position
    }


def open_trades(trades) -> dict:
    by_symbol = defaultdict(list)
    for trade in trades:
        order, status = trade.order, trade.orderStatus
        by_symbol[_symbol(trade.contract)].append({
            "orderId": order.orderId,
            "clientId": order.clientId,
            "permId": order.permId,
            "status": status.status,
            "whyHeld": status.whyHeld,
            "action": order.action,
            "totalQuantity": order.totalQuantity,
            "filled": status.filled,
            "orderType": order.orderType,
            "limitPrice": _number(order.lmtPrice),
            "tif": order.tif,
            "goodAfterTime": order.goodAfterTime,
            "goodTillDate": order.goodTillDate,
            "orderRef": order.orderRef,
        })
    return dict(by_symbol)


def fills(fill_list) -> dict:
    by_symbol = defaultdict(list)
    for fill in sorted(fill_list, key=lambda f: (f.execution.time, f.execution.execId)):
        execution, report = fill.execution, fill.commissionReport
        by_symbol[_symbol(fill.contract)].append({
            "execId": execution.execId,
            "orderId": execution.orderId,
            "clientId": execution.clientId,
            "side": execution.side,
            "shares": execution.shares,
            "price": execution.price,
            "cumQuantity": execution.cumQty,
            "avgPrice": execution.avgPrice,
            "time": execution.time.isoformat(),
            "commission": _number(report.commission) if report.execId else None,
            "realizedPNL": _number(report.realizedPNL) if report.execId else None,
        })
    return dict(by_symbol)


async def _snapshot(ib) -> dict:
    # One bridge round trip: both broker requests run concurrently on the IB loop, and ib_insync's live objects
    # are copied into plain data there, before ib_insync can change them again.
    trades, fill_list = await asyncio.gather(ib_requests.all_open_orders(ib), ib_requests.executions(ib))
    return {
        "accountSummary": account_summary(ib.accountValues()),
        "portfolio": portfolio(ib.portfolio()),
        "openTrades": open_trades(trades),
        "fills": fills(fill_list),
    }


class Summary(Intent):
    """`summary`: a read-only picture of the account (never places orders)."""

    name = "summary"
    timeout_s = 20.0

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        return self.bridge.run(_snapshot, timeout_s=deadline.remaining_s())
