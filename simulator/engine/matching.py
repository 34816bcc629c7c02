"""Matching working orders against the market: the fill price, the next execution of an order and what it books,
cancels that race a fill, and corrections of executions."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime

from simulator.engine.commissions import Commission, commission_for
from simulator.engine.ledger import QUANTITY_EPSILON
from simulator.engine.order_checks import side_price, side_sign
from simulator.engine.order_faults import armed_correction, corrected_exec_id
from simulator.engine.order_types import elected_type, is_stop
from simulator.engine.orders import (
    NO_REALIZED_PNL, AccountChanged, Execution, ExecutionAdded, OrderChanged, OrderRecord, OrderRequest)
from simulator.engine.triggers import check_election


# IB's currency conversion destination: its forex trades move cash and leave no Forex position (ledger)
FX_CONVERSION = "FXCONV"


def _piece_quantity(remaining: float, pieces_left: int, total: float) -> float:
    """The next piece of a split fill: equal whole pieces for whole quantities, the rest on the last one."""
    if pieces_left <= 1:
        return remaining
    if float(total).is_integer():
        return max(1.0, math.floor(remaining / pieces_left))
    return remaining / pieces_left


class Matching:
    """The broker's matching (a mixin of Broker: it uses the broker's orders, ledger, market, clock and events)."""

    def match(self) -> bool:
        """Fill what can fill now: one execution (piece) per working order at most; settle cancels that raced a
        fill; send the execution corrections that are due.

        Returns:
            True while work remains that a later call could do (pieces left, resting or held orders, corrections).
        """
        now = self.clock.now()
        work_left = self._send_due_corrections(now)
        working = [r for r in self._orders.values() if r.is_working]
        if self.deterministic:
            working.sort(key=lambda r: (r.client_id, r.order_id))
        for record in working:
            if not record.is_working or isinstance(record.contract, int):
                continue
            if record.status == "PendingCancel":
                self._settle_cancel_race(record, now)
                continue
            if record.auction_at is not None and now >= record.auction_at and record.request.transmit:
                self._run_auction(record, now)
                continue
            if self._expired(record, now):
                self._finish(record, "Cancelled", "Cancelled by System", now)
                continue
            if not self._release_if_ready(record, now) or record.auction_at is not None:
                work_left = True
                continue
            price = self._fill_price(record)
            if price is not None:
                self._fill_piece(record, price, now)
            if record.is_working:
                if record.request.tif == "IOC":
                    self._finish(record, "Cancelled", "Cancelled by System", now)
                else:
                    work_left = True
        return work_left

    def _fill_price(self, record: OrderRecord) -> float | None:
        """The execution price available now (ask for buys, bid for sells), or None if the limit blocks or a stop
        is not elected yet (an elected STP or TRAIL works as a market order, an elected STP LMT as a limit)."""
        request = record.request
        if is_stop(request) and not check_election(self.market, record):
            return None
        price = side_price(self.market, record.con_id, request.action)
        return price if self._within_limit(request, price) else None

    @staticmethod
    def _within_limit(request: OrderRequest, price: float) -> bool:
        if elected_type(request) != "LMT":
            return True
        limit = request.lmt_price
        return price <= limit if request.action == "BUY" else price >= limit

    def _run_auction(self, record: OrderRecord, now: datetime) -> None:
        """A MOC/LOC or OPG order at its auction: all of it fills at the auction price (the last price when the
        auction is run), a LOC/LOO only if that price is within its limit; what does not fill is cancelled."""
        price = self.market.price(record.con_id)
        if not self._within_limit(record.request, price):
            self._finish(record, "Cancelled", "Cancelled by System", now)
            return
        if record.status != "Submitted":
            record.status, record.why_held = "Submitted", ""
            self._emit(OrderChanged(record))
        self._book_execution(record, record.remaining, price, now)

    def _fill_piece(self, record: OrderRecord, price: float, now: datetime) -> None:
        request = record.request
        if record.fill_count == 0:
            record.fill_pieces = max(1, int(self.partial_fill_pieces))
        pieces_left = max(1, record.fill_pieces - record.fill_count)
        quantity = min(record.remaining, _piece_quantity(record.remaining, pieces_left, request.total_quantity))
        self._book_execution(record, quantity, price, now)

    def _settle_cancel_race(self, record: OrderRecord, now: datetime) -> None:
        """A cancel that raced a fill: part of the order executes (at its limit when the market is not there),
        then the rest is cancelled (none is left when the whole order filled)."""
        share = record.cancel_race or 0.0
        whole = float(record.request.total_quantity).is_integer()
        quantity = record.remaining * share
        quantity = min(record.remaining, max(1.0, math.floor(quantity)) if whole else quantity)
        price = self._fill_price(record) or record.request.lmt_price or side_price(
            self.market, record.con_id, record.request.action)
        self._book_execution(record, quantity, price, now)
        if record.is_working:
            self._cancel_by_trader(record, now)

    def _book_execution(self, record: OrderRecord, quantity: float, price: float, now: datetime) -> Execution:
        spec = record.contract
        request = record.request
        commission = commission_for(spec, quantity, price, self.market.fx_rate(spec.currency, "USD"))
        exchange = self._execution_exchange(spec, request)
        realized = self.ledger.book_fill(spec, side_sign(request.action) * quantity, price, commission,
                                         conversion=exchange == FX_CONVERSION)
        record.avg_fill_price = (record.avg_fill_price * record.filled + price * quantity) / (record.filled
                                                                                           + quantity)
        record.filled += quantity
        record.remaining = max(0.0, request.total_quantity - record.filled)
        record.last_fill_price = price
        record.fill_count += 1
        execution = Execution(
            exec_id=self._take_exec_id(), order_id=record.order_id, client_id=record.client_id,
            perm_id=record.perm_id, con_id=spec.con_id, time=now, account=request.account,
            exchange=exchange, side="BOT" if request.action == "BUY" else "SLD",
            shares=quantity, price=price, cum_qty=record.filled, avg_price=record.avg_fill_price,
            order_ref=request.order_ref, commission=commission.amount,
            commission_currency=commission.currency, symbol=spec.symbol, sec_type=spec.sec_type)
        if realized is not None:
            execution.realized_pnl = round(realized, 2)
        self._executions.append(execution)
        correction = armed_correction(self.faults, execution, spec.min_tick)
        if correction is not None:
            self._corrections.append(correction)
        self._emit(ExecutionAdded(execution))
        if record.remaining <= QUANTITY_EPSILON:
            record.remaining = 0.0
            self._finish(record, "Filled", "Filled", now)
        else:
            self._emit(OrderChanged(record))
        self._apply_oca(record, quantity, now)
        self._emit(AccountChanged())
        return execution

    # --- corrections --------------------------------------------------------------------------------

    def _send_due_corrections(self, now: datetime) -> bool:
        """Correct the executions whose correction is due; True while others wait."""
        now_s = self.faults.monotonic()
        due = [c for c in self._corrections if c["due_s"] <= now_s]
        self._corrections = [c for c in self._corrections if c["due_s"] > now_s]
        for correction in due:
            original = next((e for e in self._executions if e.exec_id == correction["exec_id"]), None)
            if original is not None and not original.superseded_by:
                self._correct(original, correction["shares"], correction["price"], now)
        return bool(self._corrections)

    def _correct(self, original: Execution, shares: float, price: float, now: datetime) -> None:
        """Replace `original` by a correction with these shares and price: the account books the difference,
        the order's filled quantity and average follow, and the client gets the correction's execDetails."""
        spec = self.catalog.by_con_id(original.con_id)
        sign = 1 if original.side == "BOT" else -1
        conversion = original.exchange == FX_CONVERSION
        self.ledger.book_fill(spec, -sign * original.shares, original.price,
                              Commission(-original.commission, original.commission_currency), conversion=conversion)
        commission = commission_for(spec, shares, price, self.market.fx_rate(spec.currency, "USD"))
        realized = self.ledger.book_fill(spec, sign * shares, price, commission, conversion=conversion)
        record = self._orders.get((original.client_id, original.order_id))
        cum_qty, avg_price = original.cum_qty - original.shares + shares, price
        if record is not None:
            value = record.avg_fill_price * record.filled - original.price * original.shares + price * shares
            record.filled += shares - original.shares
            record.avg_fill_price = value / record.filled if record.filled > QUANTITY_EPSILON else 0.0
            record.remaining = max(0.0, record.request.total_quantity - record.filled)
            record.last_fill_price = price
            cum_qty, avg_price = record.filled, record.avg_fill_price
        corrected = dataclasses.replace(
            original, exec_id=corrected_exec_id(original.exec_id), time=now, shares=shares, price=price,
            cum_qty=cum_qty, avg_price=avg_price, commission=commission.amount,
            commission_currency=commission.currency, corrects=original.exec_id, superseded_by="",
            realized_pnl=NO_REALIZED_PNL if realized is None else round(realized, 2))
        original.superseded_by = corrected.exec_id
        self._executions.append(corrected)
        self._emit(ExecutionAdded(corrected))
        if record is not None:
            self._emit(OrderChanged(record))
        self._emit(AccountChanged())

    @staticmethod
    def _execution_exchange(spec, request: OrderRequest) -> str:
        routed = (request.extra.get("exchange") or "").upper()
        if routed and routed != "SMART":
            return routed
        return spec.primary_exchange or spec.exchange
