"""The paper broker: order lifecycle, matching against the market, executions and the account it moves."""

from __future__ import annotations

import logging
import zlib
from datetime import datetime
from typing import Callable

from simulator.engine.broker_views import BrokerViews
from simulator.engine.faults import Faults
from simulator.engine.ib_messages import (
    DUPLICATE_ORDER_ID, LOCATE_WHY_HELD, LOCATING_SHARES, ORDER_CANCELED, OUTSIDE_RTH_IGNORED)
from simulator.engine.ib_time import parse_ib_time
from simulator.engine.ledger import QUANTITY_EPSILON, Ledger
from simulator.engine.matching import Matching
from simulator.engine.oca import CANCEL, effects_of_fill
from simulator.engine.order_faults import armed_cancel_race, armed_inactivity, armed_rejection, armed_warning
from simulator.engine.order_hours import day_order_end, in_session, outside_rth_ignored, queued_warning
from simulator.engine.order_checks import REJECTED, Rejection, invalid_order, margin_shortfall, normalized, preview
from simulator.engine.order_types import auction_cutoff_rejection, auction_time, is_simulated_stop
from simulator.engine.orders import (
    AccountChanged, Event, Execution, ExecutionAdded, OrderChanged, OrderRecord, OrderRejected, OrderRequest,
    OrderWarned, PortfolioItem, Position, execution_from_state, execution_to_state, record_from_state,
    record_to_state)
from simulator.engine.triggers import check_election

__all__ = ["AccountChanged", "Broker", "Event", "Execution", "ExecutionAdded", "OrderChanged", "OrderRecord",
           "OrderRejected", "OrderRequest", "OrderWarned", "PortfolioItem", "Position"]

log = logging.getLogger(__name__)

STATE_FORMAT = 1
FIRST_ORDER_ID = 1
# permIds look like IB's (nine-plus digits) and stay within a Java int, as TWS clients expect
FIRST_PERM_ID = 1_100_000_001
# step mode derives permIds from (clientId, orderId), above the sequential ones: base + client * span + order
STEP_PERM_BASE, STEP_PERM_CLIENTS, STEP_PERM_SPAN = 1_500_000_000, 6000, 100_000
DEFAULT_REJECT_TEXT = f"{REJECTED}Simulated rejection"
# orders a person enters in TWS belong to clientId 0 and get negative order ids, as API clients see them
MANUAL_CLIENT_ID = 0


class Broker(Matching, BrokerViews):
    """Orders, fills, executions and the margin account of one paper trading account.

    Synchronous and free of I/O: every mutation emits events to `listeners`, in order, from inside the call.

    Parameters:
        account: the account code (e.g. "DU1234567").
        base_currency: currency the account is valued in.
        cash: opening cash in the base currency.
        market: prices (quote, price, fx_rate).
        catalog: contracts by conId (to rebuild orders from a saved state).
        clock: the simulated UTC clock.
        listeners: callables receiving each Event.
        faults: the armed faults orders may meet (a registry of its own when not given).

    Attributes:
        partial_fill_pieces: executions an order is split into, one per match() call (1 = whole fills).
        deterministic: step mode: permIds come from (clientId, orderId) and matching takes orders in that order,
            so what fills does not depend on the order in which concurrent clients' requests arrived.
    """

    def __init__(self, *, account: str, base_currency: str, cash: float, market, catalog, clock,
                 listeners: list[Callable[[Event], None]] | None = None, faults: Faults | None = None):
        self.account = account
        self.base_currency = base_currency.upper()
        self.market = market
        self.catalog = catalog
        self.clock = clock
        self.listeners = list(listeners or [])
        self.faults = faults if faults is not None else Faults()
        self.partial_fill_pieces = 1
        self.deterministic = False
        self.ledger = Ledger({self.base_currency: float(cash)})
        self._orders: dict[tuple[int, int], OrderRecord] = {}
        self._executions: list[Execution] = []
        self._next_ids: dict[int, int] = {}
        self._next_perm_id = FIRST_PERM_ID
        self._next_exec_seq = 1
        self._next_manual_id = MANUAL_CLIENT_ID - 1
        self._reject_next: Rejection | None = None
        self._corrections: list[dict] = []
        self._exec_prefix = f"0000{zlib.crc32(account.encode()) & 0xFFFF:04x}"

    # --- ids ----------------------------------------------------------------------------------------

    def next_valid_id(self, client_id: int) -> int:
        """An order id above every id this client has used or reserved."""
        return self._next_ids.get(client_id, FIRST_ORDER_ID)

    def reserve_ids(self, client_id: int, num_ids: int) -> int:
        """reqIds: the first of `num_ids` ids now reserved for the client."""
        first = self.next_valid_id(client_id)
        self._next_ids[client_id] = first + max(1, num_ids)
        return first

    def highest_order_id(self, client_id: int) -> int:
        """The highest orderId the client has placed an order under (0 before its first)."""
        return max((order_id for client, order_id in self._orders if client == client_id), default=0)

    def _use_order_id(self, client_id: int, order_id: int) -> None:
        self._next_ids[client_id] = max(self.next_valid_id(client_id), order_id + 1)

    def _take_perm_id(self, client_id: int, order_id: int) -> int:
        if self.deterministic:
            return self._derived_perm_id(client_id, order_id)
        perm_id = self._next_perm_id
        self._next_perm_id += 1
        return perm_id

    def _derived_perm_id(self, client_id: int, order_id: int) -> int:
        used = {record.perm_id for record in self._orders.values()}
        perm_id = (STEP_PERM_BASE + (client_id % STEP_PERM_CLIENTS) * STEP_PERM_SPAN
                   + order_id % STEP_PERM_SPAN)
        while perm_id in used:
            perm_id += 1
        return perm_id

    def _take_exec_id(self) -> str:
        seq = self._next_exec_seq
        self._next_exec_seq += 1
        return f"{self._exec_prefix}.{seq:08x}.01.01"

    # --- events -------------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)

    def reject_next(self, code: int = 201, text: str = DEFAULT_REJECT_TEXT) -> None:
        """Reject the next new order with this error (once)."""
        self._reject_next = (int(code), text)

    # --- placing, modifying, cancelling -------------------------------------------------------------

    def place_order(self, client_id: int, order_id: int, contract, request: OrderRequest) -> None:
        """Accept, modify or reject an order; accepted orders fill in later match() calls."""
        request = normalized(request, self.account)
        self._use_order_id(client_id, order_id)
        existing = self._orders.get((client_id, order_id))
        if existing is not None:
            if existing.is_working:
                self._modify(existing, contract, request)
            else:
                self._emit(OrderRejected(existing, *DUPLICATE_ORDER_ID))
            return
        now = self.clock.now()
        record = OrderRecord(client_id=client_id, order_id=order_id, perm_id=self._take_perm_id(client_id, order_id),
                             contract=contract, request=request, remaining=request.total_quantity,
                             placed_at=now)
        self._orders[(client_id, order_id)] = record
        rejection = self._invalid(client_id, contract, request)
        if rejection is not None:
            self._reject(record, *rejection)
            return
        rejection = auction_cutoff_rejection(contract, request, now)
        if rejection is not None:
            self._reject(record, *rejection, reached_ib=True)
            return
        if self._reject_next is not None:
            rejection, self._reject_next = self._reject_next, None
        rejection = rejection or self._margin_shortfall(contract, request, request.total_quantity)
        if rejection is not None:
            self._reject(record, *rejection, reached_ib=True)
            return
        record.reject_on_submit = armed_rejection(self.faults)
        record.day_ends_at = day_order_end(contract, request, now)
        record.auction_at = auction_time(contract, request, now)
        record.status = "PreSubmitted"
        record.why_held = self._hold_reason(record, now) or ""
        self._emit(OrderChanged(record))
        self._warn_on_acceptance(record, now)
        self._hold_inactive(record)
        if request.transmit and request.parent_id:
            self._transmit_family(client_id, request.parent_id)
        self._release_if_ready(record, now)

    def place_manual_order(self, contract, request: OrderRequest) -> OrderRecord:
        """An order a person enters in TWS (not through the API); returns its record."""
        order_id = self._next_manual_id
        self._next_manual_id -= 1
        self.place_order(MANUAL_CLIENT_ID, order_id, contract, request)
        record = self._orders[(MANUAL_CLIENT_ID, order_id)]
        record.api = False
        return record

    def cancel_by_perm_id(self, perm_id: int) -> OrderRecord:
        """Cancel a working order as a person does in TWS, whoever placed it.

        Raises:
            KeyError: no working order has that permId.
        """
        record = next((r for r in self._orders.values() if r.perm_id == perm_id and r.is_working), None)
        if record is None:
            raise KeyError(f"no working order with permId {perm_id}")
        self.cancel_order(record.client_id, record.order_id)
        return record

    def _warn_on_acceptance(self, record: OrderRecord, now: datetime) -> None:
        """IB's notices about an order it accepted: outsideRth ignored (2109), queued for the open (399), and a
        warning fault armed for the next order."""
        spec, request = record.contract, record.request
        if outside_rth_ignored(spec, request):
            self._emit(OrderWarned(record, *OUTSIDE_RTH_IGNORED))
        if not in_session(spec, request, now):
            self._emit(OrderWarned(record, *queued_warning(spec, request, now)))
        warning = armed_warning(self.faults, record)
        if warning is not None:
            self._emit(OrderWarned(record, *warning))

    def _hold_inactive(self, record: OrderRecord) -> None:
        """An inactive-then-active fault: IB holds the order Inactive (locating shares), then takes it up."""
        inactive_s = armed_inactivity(self.faults)
        if inactive_s is None:
            return
        record.status = "Inactive"
        record.why_held = LOCATE_WHY_HELD
        record.reactivates_at_s = self.faults.monotonic() + inactive_s
        self._emit(OrderChanged(record))
        self._emit(OrderWarned(record, *LOCATING_SHARES))

    def _modify(self, record: OrderRecord, contract, request: OrderRequest) -> None:
        """IB modifies the price and quantity of a working order (and its other terms); the contract, side, order
        type and time in force stay (105: "If you want to modify parameters other than Price or Quantity of an order
        ... you must cancel the working order and create and transmit a new order", IB's order handling notes)."""
        original = record.request
        if (contract.con_id != record.con_id or request.action != original.action
                or request.order_type != original.order_type or request.tif != original.tif):
            self._emit(OrderRejected(record, 105, "Order being modified does not match original order."))
            return
        if request.order_type == "TRAIL":
            if (request.aux_price, request.trailing_percent) != (original.aux_price, original.trailing_percent):
                request.trail_stop_price = None     # a new trailing distance: the stop restarts from the price
            elif request.trail_stop_price is None:
                request.trail_stop_price = original.trail_stop_price
        rejection = self._invalid(record.client_id, contract, request)
        if rejection is None and request.total_quantity < record.filled - QUANTITY_EPSILON:
            rejection = (201, f"{REJECTED}The order size cannot be below the filled quantity {record.filled:g}")
        added = request.total_quantity - record.request.total_quantity
        rejection = rejection or self._margin_shortfall(contract, request, max(0.0, added))
        if rejection is not None:
            self._emit(OrderRejected(record, *rejection))
            return
        record.request = request
        record.remaining = max(0.0, request.total_quantity - record.filled)
        now = self.clock.now()
        if record.remaining <= QUANTITY_EPSILON:
            self._finish(record, "Filled", "Filled", now)
            return
        self._emit(OrderChanged(record))
        if request.transmit and request.parent_id:
            self._transmit_family(record.client_id, request.parent_id)
        self._release_if_ready(record, now)

    def cancel_order(self, client_id: int, order_id: int) -> None:
        """Cancel a working order of this client (error 10147/10148 when there is none to cancel)."""
        record = self._orders.get((client_id, order_id))
        if record is None:
            placeholder = OrderRecord(client_id=client_id, order_id=order_id, perm_id=0, contract=0,
                                      request=OrderRequest("", 0.0, "", None), status="Cancelled")
            self._emit(OrderRejected(placeholder, 10147,
                                     f"OrderId {order_id} that needs to be cancelled is not found."))
        elif not record.is_working:
            self._emit(OrderRejected(record, 10148, f"OrderId {order_id} that needs to be cancelled cannot be "
                                                    f"cancelled, state: {record.status}."))
        elif record.status != "PendingCancel":
            race = armed_cancel_race(self.faults)
            if race is None:
                self._cancel_by_trader(record, self.clock.now())
                return
            # the cancel reaches the exchange after part of the order did: matching settles the race
            record.status, record.cancel_race = "PendingCancel", race
            self._emit(OrderChanged(record))

    def global_cancel(self) -> None:
        """reqGlobalCancel: cancel every working order of every client."""
        now = self.clock.now()
        for record in list(self._orders.values()):
            if record.is_working:
                self._cancel_by_trader(record, now)

    def _cancel_by_trader(self, record: OrderRecord, now: datetime) -> None:
        """Cancelled as asked: orderStatus Cancelled, then IB's 202 with an empty reason."""
        self._finish(record, "Cancelled", "Cancelled by Trader", now)
        self._emit(OrderWarned(record, *ORDER_CANCELED))

    def preview_order(self, spec, request: OrderRequest) -> dict:
        """What-if: margin before/change/after and the commission of an order, as IB's whatIf reports them.

        Raises:
            ValueError: the order would be rejected (the IB text says why).
        """
        request = normalized(request, self.account)
        rejection = invalid_order(spec, request, account=self.account, parent_known=True)
        if rejection is not None:
            raise ValueError(rejection[1])
        return preview(self.ledger, self.market, self.base_currency, spec, request)

    def _invalid(self, client_id: int, spec, request: OrderRequest) -> Rejection | None:
        parent_known = not request.parent_id or (client_id, request.parent_id) in self._orders
        return invalid_order(spec, request, account=self.account, parent_known=parent_known)

    def _margin_shortfall(self, spec, request: OrderRequest, quantity: float) -> Rejection | None:
        return margin_shortfall(self.ledger, self.market, self.base_currency, spec, request, quantity)

    # --- state transitions --------------------------------------------------------------------------

    def _reject(self, record: OrderRecord, code: int, text: str, *, reached_ib: bool = False) -> None:
        """End an order IB refused. An order TWS could not even send gets the error alone; one IB's servers
        refused (201, "Order rejected - reason:") gets the error, then openOrder/orderStatus Inactive with its
        permId, in that order (erdewit/ib_insync#554 shows the messages as IB sends them)."""
        reached_ib = reached_ib and code == 201
        record.status = "Inactive" if reached_ib else "Cancelled"
        record.completed_at = self.clock.now()
        record.completed_status = "Rejected"
        record.why_held = ""
        record.warning_text = record.reject_reason = text
        self._emit(OrderRejected(record, code, text))
        if reached_ib:
            self._emit(OrderChanged(record))

    def _finish(self, record: OrderRecord, status: str, completed_status: str, now: datetime) -> None:
        record.status = status
        record.completed_at = now
        record.completed_status = completed_status
        record.why_held = ""
        record.reactivates_at_s = record.cancel_race = None
        self._emit(OrderChanged(record))
        if status == "Cancelled":
            for child in list(self._orders.values()):
                if (child.is_working and child.client_id == record.client_id
                        and child.request.parent_id == record.order_id):
                    self._finish(child, "Cancelled", "Cancelled by System", now)

    def _apply_oca(self, record: OrderRecord, quantity: float, now: datetime) -> None:
        """A fill of `quantity` of `record` cancels or reduces the other working orders of its OCA group."""
        for effect in effects_of_fill(list(self._orders.values()), record, quantity):
            other = effect.order
            if not other.is_working:
                continue
            left = other.remaining - effect.quantity
            if effect.action == CANCEL or left <= QUANTITY_EPSILON:
                self._finish(other, "Cancelled", "Cancelled by System", now)
                continue
            other.request.total_quantity = other.filled + left
            other.remaining = left
            self._emit(OrderChanged(other))

    def _transmit_family(self, client_id: int, parent_id: int) -> None:
        """A transmitting child sends its parent and the parent's other children along (bracket orders)."""
        now = self.clock.now()
        for record in list(self._orders.values()):
            if not record.is_working or record.client_id != client_id or record.request.transmit:
                continue
            if record.order_id == parent_id or record.request.parent_id == parent_id:
                record.request.transmit = True
                self._release_if_ready(record, now)

    def _hold_reason(self, record: OrderRecord, now: datetime) -> str | None:
        """Why a working order may not fill yet (None: it may)."""
        request = record.request
        if record.reactivates_at_s is not None:
            if self.faults.monotonic() < record.reactivates_at_s:
                return LOCATE_WHY_HELD
            record.reactivates_at_s = None
        if not request.transmit:
            return ""
        if request.parent_id:
            parent = self._orders.get((record.client_id, request.parent_id))
            if parent is None or parent.status != "Filled":
                return "child"
        good_after = parse_ib_time(request.good_after_time)
        if good_after is not None and now < good_after:
            return ""
        if not isinstance(record.contract, int):
            if not in_session(record.contract, request, now):
                return ""
            # a stop IB simulates stays PreSubmitted until elected (order_types)
            if is_simulated_stop(record.contract, request) and not check_election(self.market, record):
                return ""
        return None

    def _release_if_ready(self, record: OrderRecord, now: datetime) -> bool:
        """Move a PreSubmitted order to Submitted once nothing holds it; True when it is Submitted."""
        reason = self._hold_reason(record, now)
        if reason is not None:
            if record.why_held != reason:
                record.why_held = reason
                self._emit(OrderChanged(record))
            return False
        if record.status != "Submitted":
            record.status = "Submitted"
            record.why_held = ""
            self._emit(OrderChanged(record))
            if record.reject_on_submit:
                code, text = record.reject_on_submit
                record.reject_on_submit = None
                self._reject(record, code, text, reached_ib=True)
                return False
        return True

    def _expired(self, record: OrderRecord, now: datetime) -> bool:
        """A GTD order past its date, a DAY order past the close of its session."""
        request = record.request
        if request.tif == "DAY":
            if record.day_ends_at is None and record.placed_at is not None:
                record.day_ends_at = day_order_end(record.contract, request, record.placed_at)
            return record.day_ends_at is not None and now >= record.day_ends_at
        if request.tif != "GTD":
            return False
        good_till = parse_ib_time(request.good_till_date)
        return good_till is not None and now >= good_till

    # --- persistence --------------------------------------------------------------------------------

    def to_state(self) -> dict:
        """Everything needed to continue identically after a restart, as JSON-able values."""
        return {
            "format": STATE_FORMAT, "account": self.account, "base_currency": self.base_currency,
            "ledger": self.ledger.to_state(),
            "orders": [record_to_state(r) for r in self._orders.values()],
            "executions": [execution_to_state(e) for e in self._executions],
            "next_order_ids": {str(client): next_id for client, next_id in self._next_ids.items()},
            "next_perm_id": self._next_perm_id, "next_exec_seq": self._next_exec_seq,
            "next_manual_order_id": self._next_manual_id,
            "partial_fill_pieces": self.partial_fill_pieces,
            "reject_next": list(self._reject_next) if self._reject_next else None,
            "corrections": list(self._corrections),
        }

    @classmethod
    def from_state(cls, state: dict, *, market, catalog, clock,
                   listeners: list[Callable[[Event], None]] | None = None, faults: Faults | None = None) -> "Broker":
        """A broker continuing from `to_state()` output.

        Raises:
            ValueError: the state has an unknown format.
        """
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported broker state format {state.get('format')!r}")
        broker = cls(account=state["account"], base_currency=state["base_currency"], cash=0.0, market=market,
                     catalog=catalog, clock=clock, listeners=listeners, faults=faults)
        broker.ledger = Ledger.from_state(state["ledger"])
        for values in state["orders"]:
            spec = catalog.by_con_id(values["con_id"])
            if spec is None:
                log.warning("order %s: conId %s is no longer in the catalog", values["perm_id"], values["con_id"])
            record = record_from_state(values, spec if spec is not None else values["con_id"])
            broker._orders[(record.client_id, record.order_id)] = record
        broker._executions = [execution_from_state(e) for e in state["executions"]]
        broker._next_ids = {int(client): next_id for client, next_id in state["next_order_ids"].items()}
        broker._next_perm_id = state["next_perm_id"]
        broker._next_exec_seq = state["next_exec_seq"]
        broker._next_manual_id = state.get("next_manual_order_id", MANUAL_CLIENT_ID - 1)
        broker.partial_fill_pieces = state.get("partial_fill_pieces", 1)
        rejection = state.get("reject_next")
        broker._reject_next = (rejection[0], rejection[1]) if rejection else None
        broker._corrections = list(state.get("corrections", []))
        return broker

