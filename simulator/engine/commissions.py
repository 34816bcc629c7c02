"""IB-like tiered commissions per execution: stocks per share, futures per contract, forex in basis points."""

from __future__ import annotations

from dataclasses import dataclass

STOCK_PER_SHARE = 0.0035
STOCK_MIN_PER_ORDER = 0.35
STOCK_MAX_TRADE_VALUE_FRACTION = 0.01

# all-in per contract (exchange, clearing and regulatory fees included), by trading class
FUTURES_PER_CONTRACT = {"MNQ": 0.62, "MES": 0.62, "ES": 2.12, "NQ": 2.12}
FUTURES_DEFAULT_PER_CONTRACT = 2.12

FOREX_FRACTION_OF_VALUE = 0.2 / 10_000
FOREX_MIN_USD = 2.0


@dataclass(frozen=True)
class Commission:
    """A commission charge: amount in currency."""

    amount: float
    currency: str


def commission_for(spec, quantity: float, price: float, usd_per_quote_unit: float = 1.0) -> Commission:
    """What one execution of `quantity` at `price` costs.

    Args:
        spec: the ContractSpec traded.
        quantity: executed units (unsigned).
        price: execution price in the contract's currency.
        usd_per_quote_unit: value of one unit of the contract's currency in USD (forex commissions are in USD).
    """
    quantity = abs(quantity)
    if spec.sec_type == "CASH":
        value_usd = quantity * price * usd_per_quote_unit
        return Commission(_cents(max(FOREX_MIN_USD, value_usd * FOREX_FRACTION_OF_VALUE)), "USD")
    if spec.sec_type == "FUT":
        per_contract = FUTURES_PER_CONTRACT.get(spec.trading_class, FUTURES_DEFAULT_PER_CONTRACT)
        return Commission(_cents(per_contract * quantity), spec.currency)
    trade_value = quantity * price * (spec.multiplier or 1.0)
    amount = max(STOCK_PER_SHARE * quantity, STOCK_MIN_PER_ORDER)
    # the 1% cap wins over the minimum, as in IB's tiered schedule
    return Commission(_cents(min(amount, STOCK_MAX_TRADE_VALUE_FRACTION * trade_value)), spec.currency)


def _cents(amount: float) -> float:
    # tiny offset so that halves round up as IB's statements show them (0.525 -> 0.53)
    return round(amount + 1e-9, 2)
