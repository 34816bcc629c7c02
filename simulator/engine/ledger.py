"""The account's books: cash per currency and holdings per contract, updated by each fill."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from simulator.engine.commissions import Commission

# quantities closer to zero than this are flat (float noise from fractional fills)
QUANTITY_EPSILON = 1e-9


@dataclass
class Holding:
    """One contract held (or held before: realised PnL stays after the position closes).

    Parameters:
        con_id, symbol, sec_type, currency, trading_class, multiplier: from the contract at the first fill, so
            valuation never depends on the catalog still listing it.
        quantity: signed units.
        avg_cost: IB-style cost per unit: price times multiplier, commissions included.
        open_price: average trade price of the open quantity, commissions excluded (futures PnL is settled
            against it).
        realized_pnl: PnL realised so far, commissions included, in the contract's currency.
    """

    con_id: int
    symbol: str
    sec_type: str
    currency: str
    trading_class: str
    multiplier: float
    quantity: float = 0.0
    avg_cost: float = 0.0
    open_price: float = 0.0
    realized_pnl: float = 0.0


class Ledger:
    """Cash and holdings of one margin account.

    Money model: stocks move cash by their trade value; futures take no cash at entry and settle their
    trading PnL into cash when reduced or closed; forex trades convert cash between two currencies, and an
    IDEALPRO trade also keeps a holding of the pair (IB reports a Forex position for it: the libraries' ordering
    notebook, recorded against TWS, lists Forex('EURUSD') and Forex('USDCHF') positions) whose value is already
    in the cash; a conversion (FXCONV, IB's currency conversion desk, as TWS's Convert Currency tool and Close
    Currency Balance send it) moves cash only; commissions always leave cash.

    Parameters:
        cash: opening balance per currency.
    """

    def __init__(self, cash: dict[str, float]):
        self.cash: dict[str, float] = dict(cash)
        self.holdings: dict[int, Holding] = {}

    def _add_cash(self, currency: str, amount: float) -> None:
        self.cash[currency] = self.cash.get(currency, 0.0) + amount

    def book_fill(self, spec, signed_quantity: float, price: float, commission: Commission, *,
                  conversion: bool = False) -> float | None:
        """Book one execution; returns the PnL it realised (None when it only opened or added).

        Args:
            spec: the ContractSpec traded.
            signed_quantity: units bought (> 0) or sold (< 0).
            price: execution price in the contract's currency.
            commission: charged for the execution (in the contract's currency for stocks and futures).
            conversion: a forex trade that is a currency conversion (FXCONV): cash moves, no position.
        """
        self._add_cash(commission.currency, -commission.amount)
        if spec.sec_type == "CASH":
            self._add_cash(spec.symbol, signed_quantity)
            self._add_cash(spec.currency, -signed_quantity * price)
            if conversion:
                return None
        holding = self.holdings.get(spec.con_id)
        if holding is None:
            holding = Holding(con_id=spec.con_id, symbol=spec.symbol, sec_type=spec.sec_type,
                              currency=spec.currency, trading_class=spec.trading_class,
                              multiplier=spec.multiplier or 1.0)
            self.holdings[spec.con_id] = holding
        multiplier = holding.multiplier
        if holding.sec_type == "CASH":
            # the position's cost is in the quote currency, its commission in USD: they stay apart, and the
            # PnL of a Forex position is already in the cash balances
            commission = Commission(0.0, commission.currency)
        if holding.sec_type not in ("FUT", "CASH"):
            self._add_cash(holding.currency, -signed_quantity * price * multiplier)
        realized = None
        opening = signed_quantity
        opening_commission = commission.amount
        if holding.quantity and math.copysign(1, holding.quantity) != math.copysign(1, signed_quantity):
            side = math.copysign(1, holding.quantity)
            closing = min(abs(signed_quantity), abs(holding.quantity))
            closing_commission = commission.amount * closing / abs(signed_quantity)
            realized = side * closing * (price * multiplier - holding.avg_cost) - closing_commission
            if holding.sec_type == "FUT":
                self._add_cash(holding.currency, side * closing * (price - holding.open_price) * multiplier)
            holding.realized_pnl += realized
            holding.quantity -= side * closing
            if abs(holding.quantity) < QUANTITY_EPSILON:
                holding.quantity = holding.avg_cost = holding.open_price = 0.0
            opening = signed_quantity + side * closing
            opening_commission = commission.amount - closing_commission
        if abs(opening) >= QUANTITY_EPSILON:
            total = holding.quantity + opening
            holding.avg_cost = (holding.quantity * holding.avg_cost + opening * price * multiplier
                                + opening_commission) / total
            holding.open_price = (holding.quantity * holding.open_price + opening * price) / total
            holding.quantity = total
        return None if holding.sec_type == "CASH" else realized

    def open_holdings(self) -> list[Holding]:
        return [h for h in self.holdings.values() if h.quantity]

    def to_state(self) -> dict:
        return {"cash": dict(self.cash), "holdings": [dataclasses.asdict(h) for h in self.holdings.values()]}

    @classmethod
    def from_state(cls, state: dict) -> "Ledger":
        ledger = cls(state["cash"])
        for values in state["holdings"]:
            holding = Holding(**values)
            ledger.holdings[holding.con_id] = holding
        return ledger
