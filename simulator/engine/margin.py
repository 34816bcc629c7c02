"""Margin requirements: Reg-T-like percentages for stocks, per-contract amounts for futures."""

from __future__ import annotations

from dataclasses import dataclass

STOCK_LONG_RATE = 0.25
STOCK_SHORT_RATE = 0.30

# (initial, maintenance) per contract in the contract's currency, by trading class
FUTURES_PER_CONTRACT = {"MNQ": (2_500.0, 2_000.0), "MES": (2_500.0, 2_000.0),
                        "ES": (25_000.0, 20_000.0), "NQ": (25_000.0, 20_000.0)}
# other futures: fractions of notional
FUTURES_DEFAULT_RATES = (0.08, 0.065)

# forex conversions take no margin once done; an order is checked like a stock purchase of its value
FOREX_ORDER_RATE = 0.25

BUYING_POWER_LEVERAGE = 4.0


@dataclass(frozen=True)
class Requirement:
    """Initial and maintenance margin, in the currency of the amounts it was computed from."""

    initial: float = 0.0
    maintenance: float = 0.0

    def __add__(self, other: "Requirement") -> "Requirement":
        return Requirement(self.initial + other.initial, self.maintenance + other.maintenance)

    def scaled(self, factor: float) -> "Requirement":
        return Requirement(self.initial * factor, self.maintenance * factor)


def position_requirement(sec_type: str, trading_class: str, quantity: float, price: float,
                         multiplier: float) -> Requirement:
    """Margin a position of `quantity` (signed) needs at `price`, in the contract's currency."""
    if not quantity:
        return Requirement()
    if sec_type == "FUT":
        per_contract = FUTURES_PER_CONTRACT.get(trading_class)
        if per_contract is None:
            notional = abs(quantity) * price * multiplier
            return Requirement(notional * FUTURES_DEFAULT_RATES[0], notional * FUTURES_DEFAULT_RATES[1])
        return Requirement(per_contract[0] * abs(quantity), per_contract[1] * abs(quantity))
    if sec_type == "STK":
        rate = STOCK_LONG_RATE if quantity > 0 else STOCK_SHORT_RATE
        value = abs(quantity) * price * multiplier
        return Requirement(value * rate, value * rate)
    return Requirement()


def forex_order_requirement(value: float) -> float:
    """Initial margin a forex conversion order of `value` must find available (same currency as value)."""
    return abs(value) * FOREX_ORDER_RATE
