"""Per-strategy holdings ledger: broker executions applied exactly once, split among the strategies of an order."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Mapping

from lib.broker.parsing import ExecutionFill
from lib.events import outbox
from lib.trading import cost_basis

log = logging.getLogger(__name__)


def cumulative_split(source: Mapping[str, int], net: int, cumulative: int, *, beyond: bool = False) -> dict[str, int]:
    """Each strategy's part of the first `cumulative` units filled of an order of `net` units.

    Largest-remainder rule: every strategy gets floor(source[s] x cumulative / net) (signs taken as for a buy and
    mirrored for a sell); the units that flooring leaves over go one each to the largest fractional parts, ties in
    strategy-id order. The parts always sum to `cumulative` and equal `source` once the order is complete.
    Splitting the cumulative quantity, not each execution, keeps partial fills from drifting from the final split.
    `beyond` lets `cumulative` exceed `net` (scaling a split up rather than filling an order).
    """
    if cumulative == 0:
        return {strategy: 0 for strategy in source}
    if net == 0 or (abs(cumulative) > abs(net) and not beyond) or (cumulative > 0) != (net > 0):
        raise ValueError(f"filled {cumulative} is outside the order's quantity {net}")
    sign = 1 if net > 0 else -1
    exact = {strategy: Fraction(source[strategy] * cumulative, abs(net)) for strategy in source}
    parts = {strategy: math.floor(value) for strategy, value in exact.items()}
    leftover = sign * cumulative - sum(parts.values())
    by_remainder = sorted(exact, key=lambda strategy: (-(exact[strategy] - parts[strategy]), strategy))
    for strategy in by_remainder[:leftover]:
        parts[strategy] += 1
    return {strategy: sign * part for strategy, part in parts.items()}


def holding_totals(holdings: Iterable[Mapping]) -> dict[int, int]:
    """The quantities of several strategies' holdings documents summed by conId."""
    totals: dict[int, int] = {}
    for doc in holdings:
        for con_id, quantity in doc.items():
            totals[int(con_id)] = totals.get(int(con_id), 0) + int(quantity)
    return totals


def applied_quantity(order: dict) -> int:
    """The signed quantity applied so far to an order record (records from before `filled` was kept: the sum of
    its strategies' allocations)."""
    return order.get("filled", sum(order.get("allocated", {}).values()))


def in_flight_of(orders: list[dict]) -> dict[str, dict[int, int]]:
    """Every strategy's signed quantities still to be filled, by conId, from order records."""
    pending: dict[str, dict[int, int]] = {}
    for order in orders:
        for strategy, quantity in order["source"].items():
            share = quantity - order.get("allocated", {}).get(strategy, 0)
            if share:
                mine = pending.setdefault(strategy, {})
                mine[order["conId"]] = mine.get(order["conId"], 0) + share
    return pending


def in_flight_by_contract(in_flight: Mapping[str, Mapping[int, int]]) -> dict[int, int]:
    """Every strategy's quantities still to be filled (`in_flight_of`) summed by conId: what the service's working
    orders may still add to the account's position."""
    totals: dict[int, int] = {}
    for quantities in in_flight.values():
        for con_id, quantity in quantities.items():
            totals[con_id] = totals.get(con_id, 0) + quantity
    return totals


@dataclass(frozen=True)
class LedgerView:
    """Holdings ({strategy: {conId: quantity}}), quantities in flight (the same shape) and the order records
    they come from, all read at one moment."""

    holdings: dict[str, dict[int, int]]
    in_flight: dict[str, dict[int, int]]
    orders: list[dict]


def order_key(client_id: int, order_id: int) -> str:
    """The openOrders document id of an order: IB's (clientId, orderId) pair, known before the order is sent."""
    return f"c{client_id}-o{order_id}"


class Ledger:
    """Holdings per strategy and the orders still working for them, in the store.

    Paths: `positions/{mode}/holdings/{strategy}` ({conId: quantity}), `positions/{mode}/openOrders/{key}` (see
    `record_pending`; key from `order_key`), `positions/{mode}/executions/{execId}` (the applied mark, with the PnL
    each strategy realised), `positions/{mode}/costBasis/{strategy}` (`cost_basis`). Every execution applied and
    every order placed or ended is an event (`lib.events.outbox`) of the same transaction.

    An order is recorded before it is sent, so an execution can always be traced to its strategies even when the
    connection drops between sending the order and hearing back from IB.

    Args:
        store: a DocumentStore.
        mode: trading mode ("paper" or "live").
    """

    def __init__(self, store, mode: str):
        self.store = store
        self.mode = mode
        self.root = f"positions/{mode}"

    def holdings(self, strategy: str) -> dict[int, int]:
        return {int(con_id): int(qty) for con_id, qty in (self.store.get(self._holdings(strategy)) or {}).items()}

    def all_holdings(self) -> dict[str, dict[int, int]]:
        return self._all_holdings(self.store)

    def open_orders(self) -> list[dict]:
        return self._open_orders(self.store)

    def in_flight(self, strategy: str) -> dict[int, int]:
        """Signed quantities still to be filled for this strategy, by conId."""
        return in_flight_of(self.open_orders()).get(strategy, {})

    def view(self) -> LedgerView:
        """Every strategy's holdings and the orders still in flight, read in one transaction.

        Decisions need both from the same moment: a reconciliation that applies a fill between two separate reads
        moves it from the orders in flight into the holdings, and it would count twice (or not at all).
        """
        def read(tx):
            holdings = self._all_holdings(tx)
            orders = self._open_orders(tx)
            return LedgerView(holdings, in_flight_of(orders), orders)

        return self.store.run_transaction(read)

    def recorded_order_ids(self, client_id: int) -> set[int]:
        """The orderIds of this clientId's order records."""
        return {doc.data["orderId"] for doc in self.store.query(f"{self.root}/openOrders",
                                                                where=[("clientId", "==", client_id)])}

    def is_applied(self, exec_id: str) -> bool:
        return self.store.get(self._mark(exec_id)) is not None

    def record_pending(self, orders: list[dict]) -> None:
        """Record orders about to be sent, in one transaction.

        Each dict has orderId, clientId, conId, orderRef, quantity (signed net), source ({strategy: signed
        quantity}; empty for a conversion, which changes no holdings) and placedAt; the record gets permId 0,
        status "PendingSubmit" until `settle`, and `filled` (the signed quantity applied so far) 0.
        """
        def write(tx):
            for order in orders:
                key = order_key(order["clientId"], order["orderId"])
                tx.create(self._open_order(key), {
                    **order, "permId": 0, "status": "PendingSubmit", "filled": 0,
                    "allocated": {strategy: 0 for strategy in order["source"]}})
                outbox.emit(tx, "order.placed", outbox.stable_id("order-placed", self.mode, key, order["placedAt"]),
                            {**order, "orderKey": key}, at=order["placedAt"], mode=self.mode)

        self.store.run_transaction(write)

    def settle(self, *, client_id: int, order_id: int, perm_id: int, status: str, fills: list[ExecutionFill],
               done: bool, error: str = "", local_symbol: str = "", at: str = "") -> dict[str, int]:
        """What IB said of a recorded order: its permId and status, its executions applied exactly once, in one
        transaction. A `done` order (final at the broker) is removed with its unfilled part once every one of
        its executions is applied; so is one whose executions fill it completely.

        A done order is an `order.ended` event, or `order.rejected` when it ended unfilled with IB's `error`.

        Returns the change of each strategy's holdings.
        """
        key = order_key(client_id, order_id)
        path = self._open_order(key)

        def work(tx):
            order = tx.get(path)
            if order is None:
                return {}, None
            order = {**order, "permId": perm_id or order.get("permId", 0), "status": status}
            changes = self._apply_in(tx, path, order, fills, done=done)
            ended = self._emit_end(tx, order, fills, error, local_symbol, at or order["placedAt"]) if done else None
            return changes, ended

        changes, ended = self.store.run_transaction(work)
        if ended == "order.rejected":
            # the line deploy/monitoring's order-rejected metric counts, once: the order record is gone after it
            log.error("order %s rejected: %s", key, error,
                      extra={"fields": {"event": "orderRejected", "orderKey": key,
                                        "permId": perm_id, "localSymbol": local_symbol, "error": error}})
        return changes

    def _emit_end(self, tx, order: dict, fills: list[ExecutionFill], error: str, local_symbol: str, at: str) -> str:
        filled = sum(fill.shares for fill in fills)
        rejected = not filled and status_rejected(order["status"]) and bool(error)
        key = order_key(order["clientId"], order["orderId"])
        kind = "order.rejected" if rejected else "order.ended"
        outbox.emit(tx, kind, outbox.stable_id("order-end", self.mode, key, order["placedAt"]),
                    {"orderKey": key, "permId": order["permId"], "conId": order["conId"], "localSymbol": local_symbol,
                     "action": "BUY" if order["quantity"] > 0 else "SELL", "quantity": order["quantity"],
                     "source": order["source"], "status": order["status"], "filled": filled, "error": error,
                     "orderRef": order.get("orderRef", "")}, at=at, mode=self.mode)
        return kind

    def remove_order(self, client_id: int, order_id: int) -> None:
        self.store.delete(self._open_order(order_key(client_id, order_id)))

    def forget_unsent(self, order_ref: str) -> list[dict]:
        """Remove the records sent under `order_ref` that IB never received (it lists no order of that orderRef:
        a run died between recording and sending), in one transaction; returns them. A record with executions
        applied is kept: IB has that order."""
        def forget(tx):
            records = [doc for doc in tx.query(f"{self.root}/openOrders", where=[("orderRef", "==", order_ref)])
                       if not doc.data.get("filled")]
            for doc in records:
                tx.delete(doc.path)
            return [doc.data for doc in records]

        return self.store.run_transaction(forget)

    def remove_orders(self, client_id: int, order_ids: list[int]) -> None:
        """Remove the records of orders that were never sent, in one transaction."""
        def remove(tx):
            for order_id in order_ids:
                tx.delete(self._open_order(order_key(client_id, order_id)))

        self.store.run_transaction(remove)

    def adopt(self, strategy: str, seen: dict[int, tuple[int, int]]) -> tuple[dict[int, int], list[int]]:
        """Give `strategy` what the broker holds beyond the ledger, per conId, in one transaction.

        `seen` is {conId: (ledger total, broker quantity)} as compared. The difference is recomputed from the
        holdings read inside the transaction, and a conId whose ledger total changed since the comparison (an
        execution applied, or another adoption, in between) is left alone: what the broker holds beyond the
        ledger is then no longer known. Returns (quantities adopted by conId, conIds left alone).
        """
        def work(tx):
            docs = {doc.path.rsplit("/", 1)[-1]: doc.data for doc in tx.query(f"{self.root}/holdings")}
            totals = holding_totals(docs.values())
            deltas, changed = {}, []
            for con_id, (ledger_total, broker) in sorted(seen.items()):
                if totals.get(con_id, 0) != ledger_total:
                    changed.append(con_id)
                elif broker != ledger_total:
                    deltas[con_id] = broker - ledger_total
            if deltas:
                tx.set(self._holdings(strategy), _added(docs.get(strategy, {}), deltas))
            return deltas, changed

        return self.store.run_transaction(work)

    def apply(self, fill: ExecutionFill) -> dict[str, int] | None:
        """Apply one execution to the holdings of its order's strategies, exactly once; a correction of an
        applied execution changes them by the difference only.

        Returns each strategy's change, or None when the execution was applied before or belongs to no recorded
        order (reconciliation reports those).
        """
        def work(tx):
            if tx.get(self._mark(fill.exec_id)) is not None:
                return None
            path, order = self._find_order(tx, fill)
            if order is not None:
                return self._apply_in(tx, path, order, [fill], done=False)
            corrected = self._corrected(tx, fill)
            if corrected is None:
                log.warning("execution %s matches no recorded order", fill.exec_id)
                return None
            return self._apply_late_correction(tx, fill, corrected)

        return self.store.run_transaction(work)

    def _apply_in(self, tx, path: str, order: dict, fills: list[ExecutionFill], *, done: bool) -> dict[str, int]:
        """Reads marks and holdings, then writes; every read before the first write, as transactions require."""
        fresh = [fill for fill in sorted(fills, key=lambda f: (f.time, f.exec_id))
                 if tx.get(self._mark(fill.exec_id)) is None]
        # the latest applied version of each execution a fresh one may correct, by execId without its last part
        latest = {execution_base(fill.exec_id): self._corrected(tx, fill) for fill in fresh}
        # every execution carries its order's permId: a record that never heard it (the connection dropped after
        # placeOrder, a confirmation that timed out) learns it here, and IB's completed orders then find it
        learned = next((fill.perm_id for fill in fresh if fill.perm_id), 0)
        if learned and not order.get("permId"):
            order = {**order, "permId": learned}
        source = order["source"]
        holdings = {strategy: dict(tx.get(self._holdings(strategy)) or {}) for strategy in source}
        bases = {strategy: dict(tx.get(self._basis(strategy)) or {}) for strategy in source}
        allocated = dict(order.get("allocated", {}))
        filled = applied_quantity(order)
        changes = {strategy: 0 for strategy in source}
        marks = []
        for fill in fresh:
            base = execution_base(fill.exec_id)
            earlier = latest.get(base)
            filled += fill.signed_shares - (_signed(earlier) if earlier else 0)
            after = cumulative_split(source, order["quantity"], filled)
            split = {strategy: after[strategy] - allocated.get(strategy, 0) for strategy in source}
            for strategy, delta in split.items():
                changes[strategy] += delta
            allocated = after
            parts = {s: _parts(earlier).get(s, 0) + split[s] for s in split} if earlier else split
            realized = self._realize(bases, order["conId"], split, fill.price)
            marks.append((fill, split, parts, earlier, realized))
            latest[base] = {"execId": fill.exec_id, "side": fill.side, "shares": fill.shares, "parts": parts}
        for strategy, delta in changes.items():
            if delta:
                tx.set(self._holdings(strategy), _added(holdings[strategy], {order["conId"]: delta}))
        self._write_bases(tx, bases, {strategy for _, split, _, _, _ in marks for strategy, q in split.items() if q})
        for fill, split, parts, earlier, realized in marks:
            mark = _mark_document(fill, path.rsplit("/", 1)[-1], order.get("permId", 0), split, parts, earlier)
            tx.create(self._mark(fill.exec_id), {**mark, "realized": realized})
            self._emit_fill(tx, fill, {**mark, "realized": realized})
        if done or filled == order["quantity"]:
            tx.delete(path)
        else:
            tx.set(path, {**order, "allocated": allocated, "filled": filled})
        return changes

    def _corrected(self, tx, fill: ExecutionFill) -> dict | None:
        """The latest applied execution that `fill` corrects: IB sends a correction as another execution whose
        execId differs only after its last period (TWS API, Executions and Commissions), or None."""
        base = execution_base(fill.exec_id)
        if base == fill.exec_id:
            return None
        found = [doc.data | {"execId": doc.path.rsplit("/", 1)[-1]}
                 for doc in tx.query(f"{self.root}/executions", where=[("execBase", "==", base)])]
        found = [mark for mark in found if mark["execId"] != fill.exec_id]
        return max(found, key=lambda mark: _version(mark["execId"]), default=None)

    def _apply_late_correction(self, tx, fill: ExecutionFill, earlier: dict) -> dict[str, int]:
        """A correction of an execution whose order record is gone: the strategies' parts of it are rescaled to
        the corrected quantity (largest remainder), and each holding changes by its part's difference."""
        parts = _rescaled(_parts(earlier), fill.signed_shares)
        delta = {strategy: parts[strategy] - _parts(earlier).get(strategy, 0) for strategy in parts}
        holdings = {strategy: dict(tx.get(self._holdings(strategy)) or {}) for strategy in delta}
        bases = {strategy: dict(tx.get(self._basis(strategy)) or {}) for strategy in delta}
        for strategy, change in delta.items():
            if change:
                tx.set(self._holdings(strategy), _added(holdings[strategy], {fill.con_id: change}))
        realized = self._realize(bases, fill.con_id, delta, fill.price)
        self._write_bases(tx, bases, {strategy for strategy, change in delta.items() if change})
        mark = {**_mark_document(fill, earlier.get("orderKey", ""), fill.perm_id, delta, parts, earlier),
                "realized": realized}
        tx.create(self._mark(fill.exec_id), mark)
        self._emit_fill(tx, fill, mark)
        return delta

    @staticmethod
    def _realize(bases: dict[str, dict], con_id: int, split: dict[str, int], price: float) -> dict[str, float]:
        """Each strategy's part of a fill moved into its cost basis (`bases`, changed in place); the PnL realised."""
        realized = {}
        for strategy, delta in split.items():
            if delta:
                bases[strategy], realized[strategy] = cost_basis.apply_fill(bases[strategy], con_id, delta, price)
        return realized

    def _write_bases(self, tx, bases: dict[str, dict], strategies: set[str]) -> None:
        for strategy in sorted(strategies):
            tx.set(self._basis(strategy), bases[strategy])

    def _emit_fill(self, tx, fill: ExecutionFill, mark: dict) -> None:
        outbox.emit(tx, "fill", outbox.stable_id("fill", self.mode, fill.exec_id),
                    {"execId": fill.exec_id, "orderKey": mark["orderKey"], "permId": mark["permId"],
                     "conId": fill.con_id, "side": fill.side, "shares": fill.shares, "price": fill.price,
                     "commission": fill.commission, "time": fill.time, "strategyParts": mark["split"],
                     "realized": mark["realized"], "orderRef": fill.order_ref}, at=fill.time, mode=self.mode)

    def _find_order(self, tx, fill: ExecutionFill):
        # permId is IB's stable order key; orderId + conId + clientId and orderRef + conId are fallbacks for
        # records whose permId was never heard (the connection dropped right after the order was sent).
        for where in (
            [("permId", "==", fill.perm_id)] if fill.perm_id else None,
            [("orderId", "==", fill.order_id), ("conId", "==", fill.con_id), ("clientId", "==", fill.client_id)],
            [("orderRef", "==", fill.order_ref), ("conId", "==", fill.con_id)] if fill.order_ref else None,
        ):
            if where is None:
                continue
            found = tx.query(f"{self.root}/openOrders", where=where)
            if len(found) == 1:
                return found[0].path, found[0].data
        return None, None

    def _all_holdings(self, reader) -> dict[str, dict[int, int]]:
        """`reader` is the store or a transaction: anything with `query(path)`."""
        return {doc.path.rsplit("/", 1)[-1]: {int(c): int(q) for c, q in doc.data.items()}
                for doc in reader.query(f"{self.root}/holdings")}

    def _open_orders(self, reader) -> list[dict]:
        return [doc.data for doc in reader.query(f"{self.root}/openOrders")]

    def _mark(self, exec_id: str) -> str:
        return f"{self.root}/executions/{exec_id}"

    def _holdings(self, strategy: str) -> str:
        return f"{self.root}/holdings/{strategy}"

    def _basis(self, strategy: str) -> str:
        return f"{self.root}/costBasis/{strategy}"

    def cost_bases(self) -> dict[str, dict]:
        """Every strategy's cost basis document (`cost_basis`)."""
        return {doc.path.rsplit("/", 1)[-1]: doc.data for doc in self.store.query(f"{self.root}/costBasis")}

    def _open_order(self, key: str) -> str:
        return f"{self.root}/openOrders/{key}"


def status_rejected(status: str) -> bool:
    """An end that is not a fill and not the service's own cancel (ApiCancelled): IB refused or dropped the order."""
    return status not in ("Filled", "ApiCancelled")


def execution_base(exec_id: str) -> str:
    """An execId without its last part: the same for an execution and its corrections ("....01.01", "....01.02")."""
    return exec_id.rsplit(".", 1)[0] if "." in exec_id else exec_id


def _version(exec_id: str) -> int:
    last = exec_id.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else 0


def _signed(mark: dict) -> int:
    quantity = int(round(mark["shares"]))
    return quantity if mark["side"] == "BOT" else -quantity


def _parts(mark: dict) -> dict[str, int]:
    """Each strategy's part of the execution a mark records (marks from before corrections kept `parts`: their
    split is their parts)."""
    return mark.get("parts", mark["split"])


def _mark_document(fill: ExecutionFill, order_key: str, perm_id: int, split: dict, parts: dict,
                   corrects: dict | None) -> dict:
    """The applied mark of an execution: `split` is what it changed in each strategy's holdings, `parts` each
    strategy's part of it (different for a correction, which changes holdings by the difference only)."""
    return {"orderKey": order_key, "permId": perm_id, "conId": fill.con_id, "side": fill.side, "shares": fill.shares,
            "price": fill.price, "time": fill.time, "split": split, "parts": parts,
            "execBase": execution_base(fill.exec_id), **({"corrects": corrects["execId"]} if corrects else {})}


def _rescaled(split: Mapping[str, int], total: int) -> dict[str, int]:
    """`split` scaled to add up to `total` by the largest-remainder rule (`cumulative_split`, which scales beyond the
    split's own sum here: a correction may report more than the execution it corrects)."""
    whole = sum(split.values())
    if not whole or (total > 0) != (whole > 0):
        return {strategy: 0 for strategy in split}
    return cumulative_split(split, whole, total, beyond=True)


def _added(holdings: dict, deltas: dict[int, int]) -> dict:
    """A holdings document with `deltas` added; a quantity that reaches zero is dropped."""
    doc = dict(holdings)
    for con_id, delta in deltas.items():
        key = str(con_id)
        quantity = int(doc.get(key, 0)) + delta
        if quantity:
            doc[key] = quantity
        else:
            doc.pop(key, None)
    return doc
