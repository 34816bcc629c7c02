"""IB's Tiered commissions, the broker's part, by monthly volume.

US stocks and ETFs (https://www.interactivebrokers.com/en/pricing/commissions-stocks.php): per share USD 0.0035 up
to 300,000 shares a month, 0.0020 to 3,000,000, 0.0015 to 20,000,000, 0.0010 to 100,000,000, 0.0005 above;
at least USD 0.35 and at most 1% of the trade value per order; plus the NSCC/DTC clearing fee of USD 0.00020 a
share. US futures (https://www.interactivebrokers.com/en/pricing/commissions-futures.php): per contract USD 0.85 up
to 1,000 contracts a month, 0.65 to 10,000, 0.45 to 20,000, 0.25 above; micro contracts (MNQ, MES, M2K, MYM)
USD 0.25 / 0.20 / 0.15 / 0.10 on the same tiers. Forex (IDEALPRO): 0.2 basis points of the value, at least USD 2.

Exchange and regulatory fees (which IB passes through on top, and which vary by venue) are not modelled. The volume
tier is the one reached before the order, and volumes restart each calendar month, as IB counts them.
"""
from __future__ import annotations

from datetime import date

from lib.broker.parsing import ContractInfo

STOCK_TIERS = ((300_000, 0.0035), (3_000_000, 0.0020), (20_000_000, 0.0015), (100_000_000, 0.0010),
               (float("inf"), 0.0005))
STOCK_MIN_PER_ORDER = 0.35
STOCK_MAX_FRACTION_OF_VALUE = 0.01
STOCK_CLEARING_PER_SHARE = 0.00020
FUTURE_TIERS = ((1_000, 0.85), (10_000, 0.65), (20_000, 0.45), (float("inf"), 0.25))
MICRO_FUTURE_TIERS = ((1_000, 0.25), (10_000, 0.20), (20_000, 0.15), (float("inf"), 0.10))
MICRO_FUTURES = frozenset({"MNQ", "MES", "M2K", "MYM"})
FOREX_FRACTION_OF_VALUE = 0.2 / 10_000
FOREX_MIN_USD = 2.0


def _rate(tiers, volume: float) -> float:
    return next(rate for ceiling, rate in tiers if volume < ceiling)


class TieredCommissions:
    """Commission per fill in the contract's currency, keeping the month's share and contract volumes."""

    def __init__(self):
        self._month: tuple[int, int] | None = None
        self._shares = 0.0
        self._contracts = 0.0

    def charge(self, contract: ContractInfo, quantity: int, price: float, day: date) -> float:
        if self._month != (day.year, day.month):
            self._month, self._shares, self._contracts = (day.year, day.month), 0.0, 0.0
        units = abs(quantity)
        value = units * price * contract.multiplier
        if contract.sec_type == "FUT":
            tiers = MICRO_FUTURE_TIERS if contract.symbol in MICRO_FUTURES else FUTURE_TIERS
            cost = units * _rate(tiers, self._contracts)
            self._contracts += units
        elif contract.sec_type == "CASH":
            cost = max(FOREX_MIN_USD, value * FOREX_FRACTION_OF_VALUE)
        else:
            broker = units * _rate(STOCK_TIERS, self._shares)
            cost = min(max(broker, STOCK_MIN_PER_ORDER), value * STOCK_MAX_FRACTION_OF_VALUE)
            cost += units * STOCK_CLEARING_PER_SHARE
            self._shares += units
        return round(cost, 4)


class NoCommissions:
    def charge(self, contract: ContractInfo, quantity: int, price: float, day: date) -> float:
        return 0.0
