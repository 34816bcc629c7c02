"""Bringing the ledger up to date with the broker: executions applied exactly once, finished orders cleared, and
the ledger's totals compared with broker positions. Shared by the intents that reconcile, close and check."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lib import ib_requests
from lib.errors import ServiceError
from lib.ledger import Ledger
from lib.orders import execution_fill

log = logging.getLogger(__name__)

ENDED_UNFILLED = frozenset({"Cancelled", "ApiCancelled", "Inactive"})
# an order recorded before sending that the broker never heard of after this long never reached it
NEVER_SENT_AFTER = timedelta(minutes=2)


class LedgerMismatch(ServiceError):
    """The strategies' holdings do not add up to the broker's positions (HTTP 500, so alerting fires)."""

    def __init__(self, differences: dict[str, dict]):
        listed = "; ".join(f"{symbol}: ledger {d['ledger']}, broker {d['broker']}" for symbol, d in differences.items())
        super().__init__(f"ledger and broker positions differ: {listed}")
        self.differences = differences


@dataclass
class BrokerSnapshot:
    """Executions, open and completed orders of every client, positions and account values."""

    fills: list
    open_trades: list
    completed: list
    positions: list
    account_values: list = field(default_factory=list)


async def broker_snapshot(ib) -> BrokerSnapshot:
    """Everything reconciliation reads from IB, in one bridge round trip."""
    fills, open_trades, completed, positions = await asyncio.gather(
        ib_requests.executions(ib), ib_requests.all_open_orders(ib), ib_requests.completed_orders(ib),
        ib_requests.positions(ib))
    return BrokerSnapshot(fills, open_trades, completed, positions, ib.accountValues())


def apply_executions(ledger: Ledger, fills, account: str) -> dict:
    """Apply every execution of `account` the ledger has not seen; returns what was applied and what matched no
    recorded order."""
    applied, unmatched, seen = [], [], 0
    for fill in sorted(fills, key=lambda f: (f.execution.time, f.execution.execId)):
        if account and fill.execution.acctNumber and fill.execution.acctNumber != account:
            continue
        seen += 1
        execution = execution_fill(fill)
        changes = ledger.apply(execution)
        if changes is not None:
            applied.append({"execId": execution.exec_id, "localSymbol": fill.contract.localSymbol,
                            "side": execution.side, "shares": execution.shares, "split": changes})
        elif not ledger.is_applied(execution.exec_id):
            unmatched.append({"execId": execution.exec_id, "localSymbol": fill.contract.localSymbol,
                              "side": execution.side, "shares": execution.shares, "orderRef": execution.order_ref})
    return {"executionsSeen": seen, "applied": applied, "unmatchedExecutions": unmatched}


def clear_finished_orders(ledger: Ledger, open_trades, completed, now: datetime) -> list[dict]:
    """Remove records of orders that ended without filling the rest, or that never reached the broker.

    Run after `apply_executions`, so the filled part of an ended order is in the holdings before its record goes.
    """
    working_perm_ids = {t.order.permId for t in open_trades if t.order.permId}
    working_ids = {(t.order.clientId, t.order.orderId) for t in open_trades}
    final_status = {t.order.permId: t.orderStatus.status for t in completed if t.order.permId}
    removed = []
    for order in ledger.open_orders():
        perm_id, key = order.get("permId", 0), (order["clientId"], order["orderId"])
        if (perm_id and perm_id in working_perm_ids) or key in working_ids:
            continue
        status = final_status.get(perm_id) if perm_id else None
        if status in ENDED_UNFILLED:
            reason = f"ended {status}"
        elif not perm_id and now - datetime.fromisoformat(order["placedAt"]) > NEVER_SENT_AFTER:
            reason = "never reached the broker"
        else:
            continue
        ledger.remove_order(order["clientId"], order["orderId"])
        removed.append({"orderId": order["orderId"], "clientId": order["clientId"], "permId": perm_id,
                        "conId": order["conId"],
                        "unfilled": {s: order["source"][s] - order["allocated"].get(s, 0) for s in order["source"]},
                        "reason": reason})
    return removed


def broker_positions(positions, account: str) -> tuple[dict[int, int], dict[int, str]]:
    """Broker quantities and localSymbols by conId."""
    quantities: dict[int, int] = defaultdict(int)
    symbols: dict[int, str] = {}
    for position in positions:
        if account and position.account != account:
            continue
        quantities[position.contract.conId] += int(round(position.position))
        symbols[position.contract.conId] = position.contract.localSymbol or position.contract.symbol
    return dict(quantities), symbols


def ledger_totals(ledger: Ledger) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for holdings in ledger.all_holdings().values():
        for con_id, quantity in holdings.items():
            totals[con_id] += quantity
    return dict(totals)


def ledger_differences(ledger: Ledger, positions, account: str) -> dict[str, dict]:
    """{localSymbol: {conId, ledger, broker}} for every conId where the summed holdings differ from the broker."""
    totals = ledger_totals(ledger)
    broker, symbols = broker_positions(positions, account)
    return {symbols.get(con_id, str(con_id)): {"conId": con_id, "ledger": totals.get(con_id, 0),
                                               "broker": broker.get(con_id, 0)}
            for con_id in sorted({*totals, *broker}) if totals.get(con_id, 0) != broker.get(con_id, 0)}
