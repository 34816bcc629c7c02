"""`trade-reconciliation`: every execution of the account applied to the strategies' holdings exactly once, finished
orders cleared from the ledger, and the ledger's total compared with the broker's positions."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from intents.base import Intent
from lib import ib_requests
from lib.config import TradingConfig
from lib.deadline import Deadline
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


async def broker_snapshot(ib):
    """Executions, open and completed orders of every client, and positions, in one bridge round trip."""
    fills, open_trades, completed, positions = await asyncio.gather(
        ib.reqExecutionsAsync(), ib_requests.all_open_orders(ib), ib_requests.completed_orders(ib),
        ib_requests.positions(ib))
    return fills, open_trades, completed, positions


def ledger_differences(ledger: Ledger, positions, account: str) -> dict[str, dict]:
    """{localSymbol: {conId, ledger, broker}} for every conId where the summed holdings differ from the broker."""
    ledger_total: dict[int, int] = defaultdict(int)
    for holdings in ledger.all_holdings().values():
        for con_id, quantity in holdings.items():
            ledger_total[con_id] += quantity
    broker: dict[int, int] = defaultdict(int)
    symbols: dict[int, str] = {}
    for position in positions:
        if account and position.account != account:
            continue
        broker[position.contract.conId] += int(round(position.position))
        symbols[position.contract.conId] = position.contract.localSymbol or position.contract.symbol
    return {symbols.get(con_id, str(con_id)): {"conId": con_id, "ledger": ledger_total[con_id],
                                               "broker": broker[con_id]}
            for con_id in sorted({*ledger_total, *broker}) if ledger_total[con_id] != broker[con_id]}


class TradeReconciliation(Intent):
    """Apply new executions to holdings, clear finished orders, and check the ledger against the broker."""

    name = "trade-reconciliation"
    records_activity = True
    timeout_s = 60.0

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        account = config.get("account", "")
        ledger = Ledger(self.store, self.settings.trading_mode)
        fills, open_trades, completed, positions = self.bridge.run(broker_snapshot, timeout_s=deadline.remaining_s())

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
                                  "side": execution.side, "shares": execution.shares,
                                  "orderRef": execution.order_ref})

        removed = self._clear_finished_orders(ledger, open_trades, completed)
        differences = ledger_differences(ledger, positions, account)
        result = {"executionsSeen": seen, "applied": applied, "unmatchedExecutions": unmatched,
                  "removedOrders": removed, "openOrders": len(ledger.open_orders())}
        if differences:
            log.error("ledger and broker positions differ", extra={"fields": {"differences": differences}})
            raise LedgerMismatch(differences)
        return result

    def _clear_finished_orders(self, ledger: Ledger, open_trades, completed) -> list[dict]:
        """Remove records of orders that ended without filling the rest, or that never reached the broker."""
        working_perm_ids = {t.order.permId for t in open_trades if t.order.permId}
        working_ids = {(t.order.clientId, t.order.orderId) for t in open_trades}
        final_status = {t.order.permId: t.orderStatus.status for t in completed if t.order.permId}
        now = self.clock()
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
                            "conId": order["conId"], "unfilled": {s: order["source"][s] - order["allocated"].get(s, 0)
                                                                  for s in order["source"]},
                            "reason": reason})
        return removed
