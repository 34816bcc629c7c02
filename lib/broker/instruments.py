"""Instrument descriptions and pure helpers: contracts to request, future series selection, prices, FX rates."""
from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ib_async
import pandas as pd
from ib_async import Contract

from lib.broker.parsing import describe_contract
from lib.errors import ServiceError

EXPIRY_SCHEMES = ("quarterly", "monthly")
QUARTERLY_MONTHS = frozenset({3, 6, 9, 12})
BAR_COLUMNS = ("date", "open", "high", "low", "close", "volume")

# IB quotes each FX pair in market convention: the currency earlier in this list is the pair's base
# (EUR.USD, GBP.USD, USD.JPY, EUR.CHF). Currencies not listed rank after all listed ones (USD.XXX).
_FX_BASE_PRIORITY = ("EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "NOK", "SEK", "DKK", "CZK", "HUF",
                     "PLN", "ILS", "MXN", "ZAR", "TRY", "CNH", "HKD", "SGD", "KRW", "JPY")


class InstrumentError(ServiceError):
    """An instrument could not be resolved to a tradable contract or priced."""


class ContractNotFound(InstrumentError):
    """No contract (or no unambiguous one) matches an instrument description."""


class PriceUnavailable(InstrumentError):
    """Market data holds no usable (finite, positive) price."""


class Instrument(ABC):
    """What a strategy wants to trade or observe, before IB has resolved it to a conId.

    The fetcher requests `contract()` with reqContractDetails and passes the answer to `select_detail`.
    """

    @abstractmethod
    def contract(self) -> Contract:
        """The unqualified ib_async contract to request details for."""

    def select_detail(self, details: Sequence[Any], today: date) -> Any:
        """Pick the details of the one contract this instrument means from IB's contract details.

        Args:
            details: ContractDetails-like objects (each with `.contract`), as reqContractDetails returns them.
            today: the trading day, used by series (futures) only.

        Raises:
            ContractNotFound: no details, or several for an instrument that must be unique.
        """
        if len(details) == 1:
            return details[0]
        if not details:
            raise ContractNotFound(f"IB knows no contract for {self}")
        found = ", ".join(describe_contract(d.contract) for d in details)
        raise ContractNotFound(f"{self} is ambiguous: IB returned {len(details)} contracts ({found})")


@dataclass(frozen=True)
class Stock(Instrument):
    """A stock or ETF, SMART-routed by default; `primary_exchange` disambiguates listings (e.g. "ARCA")."""

    symbol: str
    exchange: str = "SMART"
    currency: str = "USD"
    primary_exchange: str = ""

    def contract(self) -> Contract:
        return ib_async.Stock(self.symbol, self.exchange, self.currency, primaryExchange=self.primary_exchange)

    def __str__(self) -> str:
        listing = f"/{self.primary_exchange}" if self.primary_exchange else ""
        return f"stock {self.symbol} on {self.exchange}{listing} in {self.currency}"


@dataclass(frozen=True)
class Future(Instrument):
    """A futures series; `select_detail` picks the front contract of `expiry_scheme`, rolling `rollover_days` early.

    Attributes:
        expiry_scheme: "quarterly" (March, June, September, December contracts only) or "monthly" (every month).
        rollover_days: calendar days before the last trade date at which the next contract becomes the front one.
    """

    symbol: str
    exchange: str
    currency: str = "USD"
    expiry_scheme: str = "quarterly"
    rollover_days: int = 2

    def __post_init__(self):
        if self.expiry_scheme not in EXPIRY_SCHEMES:
            raise ValueError(f"expiry_scheme must be one of {EXPIRY_SCHEMES}, got {self.expiry_scheme!r}")
        if isinstance(self.rollover_days, bool) or not isinstance(self.rollover_days, int) or self.rollover_days < 0:
            raise ValueError(f"rollover_days must be a non-negative int, got {self.rollover_days!r}")

    def contract(self) -> Contract:
        # No expiry: reqContractDetails then answers with the whole series.
        return ib_async.Future(symbol=self.symbol, exchange=self.exchange, currency=self.currency)

    def select_detail(self, details: Sequence[Any], today: date) -> Any:
        return select_future_detail(details, self.expiry_scheme, self.rollover_days, today, series=str(self))

    def __str__(self) -> str:
        return f"{self.expiry_scheme} {self.symbol} future on {self.exchange} in {self.currency}"


@dataclass(frozen=True)
class Forex(Instrument):
    """A currency pair on IDEALPRO, given as "EURUSD" or "EUR.USD" (kept as "EURUSD")."""

    pair: str

    def __post_init__(self):
        if not isinstance(self.pair, str) or not re.fullmatch(r"[A-Za-z]{3}\.?[A-Za-z]{3}", self.pair):
            raise ValueError(f"a currency pair looks like 'EURUSD' or 'EUR.USD', got {self.pair!r}")
        object.__setattr__(self, "pair", self.pair.replace(".", "").upper())

    @property
    def symbol(self) -> str:
        """The pair's base currency (EUR in EUR.USD)."""
        return self.pair[:3]

    @property
    def currency(self) -> str:
        """The pair's quote currency (USD in EUR.USD): the price is in units of it per one `symbol`."""
        return self.pair[3:]

    def contract(self) -> Contract:
        return ib_async.Forex(self.pair, exchange="IDEALPRO")

    def __str__(self) -> str:
        return f"forex {self.symbol}.{self.currency}"


@dataclass(frozen=True)
class Index(Instrument):
    """An index (not tradable; for market data such as VIX on CBOE)."""

    symbol: str
    exchange: str
    currency: str = "USD"

    def contract(self) -> Contract:
        return ib_async.Index(self.symbol, self.exchange, self.currency)

    def __str__(self) -> str:
        return f"index {self.symbol} on {self.exchange}"


@dataclass(frozen=True)
class ByConId(Instrument):
    """Any contract IB knows by its conId (e.g. a holding whose strategy no longer names it)."""

    con_id: int

    def __post_init__(self):
        if isinstance(self.con_id, bool) or not isinstance(self.con_id, int) or self.con_id <= 0:
            raise ValueError(f"con_id must be a positive int, got {self.con_id!r}")

    def contract(self) -> Contract:
        return Contract(conId=self.con_id)

    def __str__(self) -> str:
        return f"contract {self.con_id}"


@dataclass(frozen=True)
class HistoryRequest:
    """Historical bars a strategy needs, in reqHistoricalData's terms.

    Attributes:
        instrument: the name of an instrument in the same Requirements.
        duration: IB durationStr, e.g. "100 D".
        bar_size: IB barSizeSetting, e.g. "1 day".
        what_to_show: "TRADES", "MIDPOINT", "BID", "ASK", ...
        use_rth: regular trading hours only.
        end: IB endDateTime of the last bar ("yyyymmdd hh:mm:ss zone"); empty: now.
    """

    instrument: str
    duration: str = "100 D"
    bar_size: str = "1 day"
    what_to_show: str = "TRADES"
    use_rth: bool = True
    end: str = ""


def select_future_detail(details: Sequence[Any], scheme: str, rollover_days: int, today: date, *,
                         series: str = "") -> Any:
    """The details of the front contract of a futures series on `today`, after rollover.

    A contract qualifies when its month belongs to `scheme` (quarterly: H/M/U/Z = March, June, September,
    December; monthly: any) and its last trade date is more than `rollover_days` calendar days after `today`.
    So with rollover_days=2 and expiry on Friday the 19th, the contract is front through Tuesday the 16th and
    the next one from Wednesday the 17th. The earliest qualifying last trade date wins.

    Args:
        details: ContractDetails-like objects: `.contract.lastTradeDateOrContractMonth` ("YYYYMMDD", optionally
            followed by a time) and optionally `.contractMonth` ("YYYYMM"; falls back to the last trade date's).
        series: how to name the series in errors.

    Raises:
        ValueError: unknown scheme or negative rollover_days.
        ContractNotFound: no contract qualifies, or two qualify with the same earliest last trade date.
    """
    if scheme not in EXPIRY_SCHEMES:
        raise ValueError(f"expiry scheme must be one of {EXPIRY_SCHEMES}, got {scheme!r}")
    if rollover_days < 0:
        raise ValueError(f"rollover_days must be >= 0, got {rollover_days}")
    series = series or (f"{scheme} {details[0].contract.symbol} future" if details else f"{scheme} future")
    candidates = []
    for detail in details:
        expiry = _last_trade_date(detail.contract.lastTradeDateOrContractMonth)
        if expiry is None:
            continue
        month = _contract_month(getattr(detail, "contractMonth", ""), expiry)
        if scheme == "quarterly" and month not in QUARTERLY_MONTHS:
            continue
        if (expiry - today).days > rollover_days:
            candidates.append((expiry, detail))
    if not candidates:
        listed = ", ".join(describe_contract(d.contract) for d in details) or "none"
        raise ContractNotFound(f"no {series} expires more than {rollover_days} days after {today.isoformat()} "
                               f"(contracts IB returned: {listed})")
    candidates.sort(key=lambda candidate: (candidate[0], candidate[1].contract.conId))
    front_expiry = candidates[0][0]
    front = [detail for expiry, detail in candidates if expiry == front_expiry]
    if len(front) > 1:
        raise ContractNotFound(f"{series} is ambiguous: {len(front)} contracts expire on {front_expiry.isoformat()} "
                               f"({', '.join(describe_contract(d.contract) for d in front)})")
    return front[0]


def ticker_price(ticker: Any) -> float:
    """A ticker's price: ib_async's marketPrice() (last within bid/ask, else the midpoint), else the close.

    Raises:
        PriceUnavailable: none of them is a finite positive number.
    """
    for price in (ticker.marketPrice(), ticker.close):
        if _usable(price):
            return float(price)
    raise PriceUnavailable(f"no price for {describe_contract(ticker.contract)}: last={ticker.last} bid={ticker.bid} "
                           f"ask={ticker.ask} close={ticker.close}")


def fx_pair_for(currency: str, base: str) -> Forex:
    """The IDEALPRO pair that prices `currency` against `base`, in IB's market convention (EUR.USD, USD.JPY).

    Raises:
        ValueError: the currencies are equal (no conversion needed: the rate is 1.0).
    """
    currency, base = currency.upper(), base.upper()
    if currency == base:
        raise ValueError(f"no FX pair needed to convert {currency} to itself")
    first, second = sorted((currency, base), key=_fx_rank)
    return Forex(first + second)


def fx_rate_to_base(currency: str, base: str, pair: Forex, price: float) -> float:
    """Units of `base` per one unit of `currency`, from the price of `pair` (quote currency per pair base).

    The pair must join the two currencies in either direction: CCY.BASE gives `price`, BASE.CCY gives 1/`price`.
    Equal currencies give 1.0 whatever the pair.

    Raises:
        ValueError: the pair does not join the currencies, or the price is not finite and positive.
    """
    currency, base = currency.upper(), base.upper()
    if currency == base:
        return 1.0
    if not _usable(price):
        raise ValueError(f"FX price for {pair} must be finite and positive, got {price!r}")
    if (pair.symbol, pair.currency) == (currency, base):
        return float(price)
    if (pair.symbol, pair.currency) == (base, currency):
        return 1.0 / float(price)
    raise ValueError(f"{pair} does not convert {currency} to {base}")


def bars_frame(bars: Iterable[Any]) -> pd.DataFrame:
    """Historical bars (ib_async BarData or dicts with the same names) as a DataFrame sorted by date.

    Columns: date, open, high, low, close, volume (floats except date); empty input gives an empty frame.
    """
    rows = [bar if isinstance(bar, dict) else {column: getattr(bar, column) for column in BAR_COLUMNS}
            for bar in bars]
    frame = pd.DataFrame(rows, columns=list(BAR_COLUMNS))
    for column in BAR_COLUMNS[1:]:
        frame[column] = frame[column].astype(float)
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def _fx_rank(currency: str) -> int:
    try:
        return _FX_BASE_PRIORITY.index(currency)
    except ValueError:
        return len(_FX_BASE_PRIORITY)


def _usable(price: Any) -> bool:
    return isinstance(price, (int, float)) and math.isfinite(price) and price > 0


def _last_trade_date(value: str) -> date | None:
    match = re.match(r"(\d{8})", value or "")
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def _contract_month(contract_month: str, expiry: date) -> int:
    if contract_month and re.fullmatch(r"\d{6}", contract_month):
        return int(contract_month[4:])
    return expiry.month

