"""Matching working orders against the market: the fill price, the next execution of an order, and what it books."""

from __future__ import annotations

import math
from datetime import datetime

from simulator.engine.commissions import commission_for
from simulator.engine.ledger import QUANTITY_EPSILON
from simulator.engine.order_checks import side_price, side_sign
from simulator.engine.orders import AccountChanged, Execution, ExecutionAdded, OrderChanged, OrderRecord, OrderRequest


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
        """Fill what can fill now: one execution (piece) per working order at most.

        Returns:
            True while work remains that a later call could do (pieces left, resting or held orders).
        """
        now = self.clock.now()
        work_left = False
        for record in [r for r in self._orders.values() if r.is_working]:
            if not record.is_working or isinstance(record.contract, int):
                continue
            if self._expired(record, now):
                self._finish(record, "Cancelled", "Cancelled by System", now)
                continue
            if not self._release_if_ready(record, now):
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
        """The execution price available now (ask for buys, bid for sells), or None if the limit blocks."""
        request = record.request
        buying = request.action == "BUY"
        price = side_price(self.market, record.con_id, request.action)
        if request.order_type == "LMT":
            limit = request.lmt_price
            if (buying and price > limit) or (not buying and price < limit):
                return None
        return price

    def _fill_piece(self, record: OrderRecord, price: float, now: datetime) -> None:
        spec = record.contract
        request = record.request
        if record.fill_count == 0:
            record.fill_pieces = max(1, int(self.partial_fill_pieces))
        pieces_left = max(1, record.fill_pieces - record.fill_count)
        quantity = min(record.remaining, _piece_quantity(record.remaining, pieces_left, request.total_quantity))
        commission = commission_for(spec, quantity, price, self.market.fx_rate(spec.currency, "USD"))
        realized = self.ledger.book_fill(spec, side_sign(request.action) * quantity, price, commission)
        record.avg_fill_price = (record.avg_fill_price * record.filled + price * quantity) / (record.filled
                                                                                           + quantity)
        record.filled += quantity
        record.remaining = max(0.0, request.total_quantity - record.filled)
        record.last_fill_price = price
        record.fill_count += 1
        execution = Execution(
            exec_id=self._take_exec_id(), order_id=record.order_id, client_id=record.client_id,
            perm_id=record.perm_id, con_id=spec.con_id, time=now, account=request.account,
            exchange=self._execution_exchange(spec, request), side="BOT" if request.action == "BUY" else "SLD",
            shares=quantity, price=price, cum_qty=record.filled, avg_price=record.avg_fill_price,
            order_ref=request.order_ref, commission=commission.amount,
            commission_currency=commission.currency, symbol=spec.symbol, sec_type=spec.sec_type)
        if realized is not None:
            execution.realized_pnl = round(realized, 2)
        self._executions.append(execution)
        self._emit(ExecutionAdded(execution))
        if record.remaining <= QUANTITY_EPSILON:
            record.remaining = 0.0
            self._finish(record, "Filled", "Filled", now)
        else:
            self._emit(OrderChanged(record))
        self._emit(AccountChanged())

    @staticmethod
    def _execution_exchange(spec, request: OrderRequest) -> str:
        routed = (request.extra.get("exchange") or "").upper()
        if routed and routed != "SMART":
            return routed
        return spec.primary_exchange or spec.exchange
