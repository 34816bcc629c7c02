"""Option chains on the catalog's indices and ETFs, and Black-Scholes model prices and greeks.

The chains are what reqSecDefOptParams reports: weekly Friday expiries for the next eight weeks and the monthly
third-Friday expiries for the next six months (a day earlier when the Friday is an exchange holiday), strikes every increment within 25% of the underlying's price.
Computations use a flat risk-free rate and no dividends; time to expiry runs to the 16:00 New York close of the
expiry day, in calendar years, as IB's model quotes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from simulator.engine import trading_hours
from simulator.engine.catalog import ContractSpec, third_friday

RISK_FREE_RATE = 0.04
WEEKLY_EXPIRIES = 8
MONTHLY_EXPIRIES = 6
STRIKE_RANGE = 0.25
OPTION_MULTIPLIER = 100.0
NEW_YORK = ZoneInfo("America/New_York")
MIN_YEARS = 1.0 / (365 * 24 * 60)


@dataclass(frozen=True)
class Chain:
    """One underlying's option parameters.

    Parameters:
        underlying: the index or ETF.
        trading_class: the options' trading class (the underlying's symbol).
        expirations: "YYYYMMDD", ascending.
        strikes: ascending.
    """

    underlying: ContractSpec
    trading_class: str
    expirations: list[str]
    strikes: list[float]


@dataclass(frozen=True)
class Greeks:
    price: float
    delta: float
    gamma: float
    vega: float
    theta: float


def has_options(spec: ContractSpec) -> bool:
    return spec.sec_type == "IND" or (spec.sec_type == "STK" and spec.stock_type == "ETF")


def strike_increment(price: float) -> float:
    """Listed strike spacing: 1 up to 200, 5 up to 2500 (SPX trades fives), 25 above."""
    if price <= 200:
        return 1.0
    return 5.0 if price <= 2500 else 25.0


def expirations(today: date) -> list[str]:
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    days = {friday + timedelta(weeks=week) for week in range(WEEKLY_EXPIRIES)}
    year, month = today.year, today.month
    monthly = 0
    while monthly < MONTHLY_EXPIRIES:
        expiry = third_friday(year, month)
        if expiry >= today:
            days.add(expiry)
            monthly += 1
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(_trading_day_on_or_before(d).strftime("%Y%m%d") for d in days)


def _trading_day_on_or_before(day: date) -> date:
    """Options expiring on an exchange holiday expire the trading day before (Good Friday, Christmas)."""
    while not trading_hours.is_trading_day(trading_hours.STK_RTH, day):
        day -= timedelta(days=1)
    return day


def chain(spec: ContractSpec, price: float, today: date) -> Chain:
    step = strike_increment(price)
    low = math.ceil(price * (1 - STRIKE_RANGE) / step) * step
    high = math.floor(price * (1 + STRIKE_RANGE) / step) * step
    count = int(round((high - low) / step)) + 1
    return Chain(spec, spec.symbol, expirations(today), [round(low + i * step, 2) for i in range(count)])


def years_to_expiry(expiry: str, now: datetime) -> float:
    close = datetime.combine(datetime.strptime(expiry, "%Y%m%d").date(), time(16), NEW_YORK)
    return max((close - now).total_seconds() / (365 * 86400), MIN_YEARS)


def _cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _pdf(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def black_scholes(right: str, under: float, strike: float, years: float, vol: float) -> Greeks:
    """Price and greeks per share; vega per 1% of volatility and theta per calendar day, as IB reports them."""
    vol = max(vol, 1e-6)
    root = math.sqrt(years)
    d1 = (math.log(under / strike) + (RISK_FREE_RATE + vol * vol / 2) * years) / (vol * root)
    d2 = d1 - vol * root
    discount = math.exp(-RISK_FREE_RATE * years)
    if right == "C":
        price = under * _cdf(d1) - strike * discount * _cdf(d2)
        delta = _cdf(d1)
        theta = -under * _pdf(d1) * vol / (2 * root) - RISK_FREE_RATE * strike * discount * _cdf(d2)
    else:
        price = strike * discount * _cdf(-d2) - under * _cdf(-d1)
        delta = _cdf(d1) - 1
        theta = -under * _pdf(d1) * vol / (2 * root) + RISK_FREE_RATE * strike * discount * _cdf(-d2)
    gamma = _pdf(d1) / (under * vol * root)
    vega = under * _pdf(d1) * root / 100
    return Greeks(max(price, 0.0), delta, gamma, vega, theta / 365)


def implied_volatility(right: str, under: float, strike: float, years: float, price: float) -> float | None:
    """The volatility at which the model price equals `price`; None outside the no-arbitrage bounds."""
    low, high = 1e-4, 5.0
    if not black_scholes(right, under, strike, years, low).price <= price <= \
            black_scholes(right, under, strike, years, high).price:
        return None
    for _ in range(100):
        middle = (low + high) / 2
        if black_scholes(right, under, strike, years, middle).price < price:
            low = middle
        else:
            high = middle
    return (low + high) / 2
