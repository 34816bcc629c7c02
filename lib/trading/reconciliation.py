"""Bringing the ledger up to date with the broker: executions applied exactly once, finished orders cleared, and
the ledger's totals compared with broker positions. Shared by the intents that reconcile, close and check."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from lib.broker.parsing import BrokerExecution, BrokerOrder, BrokerPosition, BrokerSnapshot, CompletedOrder
from lib.broker.snapshots import broker_snapshot
from lib.deadline import Deadline
from lib.errors import ServiceError
from lib.trading.ledger import Ledger, applied_quantity, holding_totals
from lib.trading.market_calendar import trading_date

log = logging.getLogger(__name__)

# an order recorded before sending that the broker never heard of after this long never reached it
NEVER_SENT_AFTER = timedelta(minutes=2)
# broker snapshots taken at most while the differences keep changing (fills landing between IB's answers)
MAX_SNAPSHOTS = 5


class LedgerMismatch(ServiceError):
    """The strategies' holdings do not add up to the broker's positions (HTTP 500, so alerting fires)."""

    def __init__(self, differences: dict[str, dict]):
        listed = "; ".join(f"{symbol}: ledger {d['ledger']}, broker {d['broker']}" for symbol, d in differences.items())
        super().__init__(f"ledger and broker positions differ: {listed}")
        self.differences = differences


def apply_executions(ledger: Ledger, executions: list[BrokerExecution], account: str) -> dict:
    """Apply every execution of `account` the ledger has not seen; returns what was applied and what matched no
    recorded order."""
    applied, unmatched, seen = [], [], 0
    for execution in sorted(executions, key=lambda e: (e.fill.time, e.fill.exec_id)):
        if account and execution.account and execution.account != account:
            continue
        seen += 1
        fill = execution.fill
        changes = ledger.apply(fill)
        if changes is not None:
            applied.append({"execId": fill.exec_id, "localSymbol": execution.local_symbol, "side": fill.side,
                            "shares": fill.shares, "split": changes})
        elif not ledger.is_applied(fill.exec_id):
            unmatched.append({"execId": fill.exec_id, "localSymbol": execution.local_symbol, "side": fill.side,
                              "shares": fill.shares, "orderRef": fill.order_ref})
    return {"executionsSeen": seen, "applied": applied, "unmatchedExecutions": unmatched}


def clear_finished_orders(ledger: Ledger, open_orders: list[BrokerOrder], completed: dict[int, CompletedOrder],
                          now: datetime, broker_day: date | None = None) -> list[dict]:
    """Remove the records of orders that ended, never reached the broker, or that the broker no longer lists.

    Run after `apply_executions`. An order IB lists among the day's completed orders goes once the quantity applied
    equals the quantity IB says it filled (an execution still missing keeps it). A record without a permId or an
    applied execution that IB does not list two minutes after it was recorded never reached IB (one with an
    applied execution did, and learned its permId from it). One that IB lists neither as working nor
    as completed although it was placed on an earlier trading day than `broker_day` (the gateway's) ended before
    the day IB's lists cover (IB reports executions and completed orders of the current day only): what it filled
    since the last catch-up can no longer be applied, so its record goes with an ERROR and its unfilled part stops
    counting as in flight, and what IB's positions show beyond the ledger is a difference for a person to resolve
    (trade-reconciliation answers 500, order-capable runs leave the contract alone until `reconcile` adopts it).
    The scheduled catch-ups after every session's close (docs/architecture.md, "The ledger and the broker") keep this
    the exception.
    """
    working_perm_ids = {o.perm_id for o in open_orders if o.perm_id}
    working_ids = {(o.client_id, o.order_id) for o in open_orders}
    removed = []
    for order in ledger.open_orders():
        perm_id, key = order.get("permId", 0), (order["clientId"], order["orderId"])
        if (perm_id and perm_id in working_perm_ids) or key in working_ids:
            continue
        reason = _finished(order, completed.get(perm_id) if perm_id else None,
                           now - datetime.fromisoformat(order["placedAt"]) > NEVER_SENT_AFTER,
                           broker_day is not None and _placed_day(order) < broker_day)
        if reason is None:
            continue
        ledger.remove_order(order["clientId"], order["orderId"])
        entry = {"orderId": order["orderId"], "clientId": order["clientId"], "permId": perm_id,
                 "conId": order["conId"],
                 "unfilled": {s: order["source"][s] - order["allocated"].get(s, 0) for s in order["source"]},
                 "reason": reason}
        if reason == EXPIRED:
            log.error("order %s (permId %s) is no longer listed by IB: its record is removed and its unfilled part "
                      "released; fills IB reported on an earlier day and never applied are not in the ledger and "
                      "show as a difference from IB's positions (resolve it with reconcile and adopt)",
                      key, perm_id, extra={"fields": {"order": entry}})
        removed.append(entry)
    return removed


EXPIRED = "no longer listed by IB (ended on an earlier day)"


def _finished(order: dict, done: CompletedOrder | None, old_enough: bool, earlier_day: bool) -> str | None:
    """Why an order record no longer listed as working can go, or None while it must stay."""
    applied = abs(applied_quantity(order))
    if done is not None:
        return f"ended {done.status}" if applied >= round(done.filled) else None
    if earlier_day:
        return EXPIRED
    # an execution applied to it proves it reached IB, whatever it lacks (its permId is learned from executions)
    if old_enough and not order.get("permId") and not applied:
        return "never reached the broker"
    return None


def _placed_day(order: dict) -> date:
    """The gateway's trading day when the order was sent (records from before `tradingDay` was kept: the New York
    day of `placedAt`)."""
    if "tradingDay" in order:
        return date.fromisoformat(order["tradingDay"])
    return trading_date(datetime.fromisoformat(order["placedAt"]))


def catch_up(bridge, ledger: Ledger, account: str, now: datetime, timeout_s: float) -> tuple[BrokerSnapshot, dict]:
    """A broker snapshot, and the ledger brought up to it: new executions applied, finished orders cleared.

    Returns the snapshot and what changed (`apply_executions`' report plus `removedOrders`).
    """
    snapshot = bridge.run(broker_snapshot, timeout_s=timeout_s)
    report = apply_executions(ledger, snapshot.executions, account)
    broker_day = trading_date(snapshot.gateway_now) if snapshot.gateway_now else None
    report["removedOrders"] = clear_finished_orders(ledger, snapshot.open_orders, snapshot.completed, now, broker_day)
    return snapshot, report


def broker_positions(positions: list[BrokerPosition], account: str) -> tuple[dict[int, int], dict[int, str]]:
    """Broker quantities and localSymbols by conId."""
    quantities: dict[int, int] = defaultdict(int)
    symbols: dict[int, str] = {}
    for position in positions:
        if account and position.account != account:
            continue
        quantities[position.con_id] += int(round(position.position))
        symbols[position.con_id] = position.local_symbol
    return dict(quantities), symbols


def ledger_totals(ledger: Ledger) -> dict[int, int]:
    return holding_totals(ledger.all_holdings().values())


def ledger_differences(ledger: Ledger, positions, account: str) -> dict[str, dict]:
    """{localSymbol: {conId, ledger, broker}} for every conId where the summed holdings differ from the broker."""
    totals = ledger_totals(ledger)
    broker, symbols = broker_positions(positions, account)
    return {symbols.get(con_id, str(con_id)): {"conId": con_id, "ledger": totals.get(con_id, 0),
                                               "broker": broker.get(con_id, 0)}
            for con_id in sorted({*totals, *broker}) if totals.get(con_id, 0) != broker.get(con_id, 0)}


@dataclass(frozen=True)
class Settled:
    """The ledger caught up until its differences from the broker stopped changing.

    Attributes:
        snapshot: the last broker snapshot.
        report: what the catch-ups changed, summed over every snapshot (`catch_up`'s report).
        differences: `ledger_differences` after the last snapshot.
        stable: the differences found identical in the last two snapshots (a fill in flight changes them).
    """

    snapshot: BrokerSnapshot
    report: dict
    differences: dict[str, dict]
    stable: dict[str, dict]


def settled_differences(bridge, ledger: Ledger, account: str, clock: Callable[[], datetime], deadline: Deadline,
                        max_snapshots: int = MAX_SNAPSHOTS) -> Settled:
    """Catch the ledger up with broker snapshots until it agrees with the broker, or its differences are the same
    in two snapshots running, or `max_snapshots` were taken.

    IB answers executions and positions separately, so a fill that lands between the two answers shows as a
    difference that the next snapshot explains; one that keeps changing means fills are still landing. Only a
    difference seen twice unchanged is taken as real.
    """
    report = {"executionsSeen": 0, "applied": [], "unmatchedExecutions": [], "removedOrders": []}
    previous: dict[str, dict] | None = None
    for _ in range(max_snapshots):
        snapshot, changed = catch_up(bridge, ledger, account, clock(), deadline.remaining_s())
        report["executionsSeen"] = changed["executionsSeen"]
        report["applied"] += changed["applied"]
        report["unmatchedExecutions"] = changed["unmatchedExecutions"]
        report["removedOrders"] += changed["removedOrders"]
        differences = ledger_differences(ledger, snapshot.positions, account)
        stable = {symbol: d for symbol, d in differences.items() if previous is not None and previous.get(symbol) == d}
        if stable == differences:
            break
        previous = differences
    return Settled(snapshot, report, differences, stable)


def adopt_unexplained(ledger: Ledger, strategy: str, settled: Settled) -> tuple[dict[str, int], dict[str, str]]:
    """Give `strategy` the broker quantity the ledger does not explain, for each difference two snapshots running
    agreed on and that nothing changed since it was measured.

    Returns (quantities adopted by localSymbol, the differences left alone and why).
    """
    symbols = {d["conId"]: symbol for symbol, d in settled.differences.items()}
    seen = {d["conId"]: (d["ledger"], d["broker"]) for d in settled.stable.values()}
    deltas, changed = ledger.adopt(strategy, seen)
    left = {symbol: "it changed between two broker snapshots (fills landing); run reconcile again"
            for symbol in settled.differences if symbol not in settled.stable}
    left.update({symbols[con_id]: "the ledger changed while adopting (an execution applied, or another "
                                  "adoption); run reconcile again" for con_id in changed})
    return {symbols[con_id]: delta for con_id, delta in deltas.items()}, left
