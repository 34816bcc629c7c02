"""Instruments resolved to contracts without a gateway: conIds from the stored bars (or stable ones made from the
symbol), futures picked by the live series rule (lib.broker.instruments.select_future_detail) among contracts
listed by their expiry scheme, multipliers from a table of the usual CME contracts."""
from __future__ import annotations

import calendar
import zlib
from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache

from ib_async import Contract

from lib.broker.instruments import Forex, Future, Index, Instrument, Stock, select_future_detail
from lib.broker.parsing import ContractInfo

# Contract specifications (CME Group): point value in USD per index point
FUTURE_MULTIPLIERS = {"MNQ": 2.0, "NQ": 20.0, "MES": 5.0, "ES": 50.0, "M2K": 5.0, "RTY": 50.0, "MYM": 0.5,
                      "YM": 5.0}
MONTH_CODES = "FGHJKMNQUVXZ"
# listed months around the day being resolved: enough for the front contract of either scheme and a roll
LISTED_MONTHS = 15


class Universe:
    """Resolves a strategy's instruments for each replayed session.

    Args:
        con_ids: {symbol: conId} to use (e.g. those the bars were stored under, or those IB gave live).
        multipliers: {futures root: multiplier} added to (or overriding) FUTURE_MULTIPLIERS.
    """

    def __init__(self, con_ids: Mapping[str, int] | None = None, multipliers: Mapping[str, float] | None = None):
        self.con_ids = dict(con_ids or {})
        self.multipliers = {**FUTURE_MULTIPLIERS, **(multipliers or {})}
        self.symbols: dict[int, str] = {}

    def resolve(self, instrument: Instrument, today: date) -> ContractInfo:
        """The contract `instrument` means on `today`; remembers which bars (symbol) price it.

        Raises:
            ValueError: an instrument kind the backtest cannot replay, or a future without a known multiplier.
        """
        info = self._resolve(instrument, today)
        self.symbols[info.con_id] = bar_symbol(instrument)
        return info

    def _resolve(self, instrument: Instrument, today: date) -> ContractInfo:
        if isinstance(instrument, Stock):
            return ContractInfo(self._con_id(instrument.symbol), instrument.symbol, instrument.symbol, "STK",
                                instrument.currency, instrument.exchange)
        if isinstance(instrument, Forex):
            return ContractInfo(self._con_id(instrument.pair), instrument.symbol,
                                f"{instrument.symbol}.{instrument.currency}", "CASH", instrument.currency, "IDEALPRO")
        if isinstance(instrument, Index):
            return ContractInfo(self._con_id(instrument.symbol), instrument.symbol, instrument.symbol, "IND",
                                instrument.currency, instrument.exchange)
        if isinstance(instrument, Future):
            if instrument.symbol not in self.multipliers:
                raise ValueError(f"no multiplier for {instrument.symbol} futures: give one (--multiplier "
                                 f"{instrument.symbol}=...)")
            front = select_future_detail(_listed(instrument.symbol, instrument.exchange, instrument.currency,
                                                 instrument.expiry_scheme, today),
                                         instrument.expiry_scheme, instrument.rollover_days, today,
                                         series=str(instrument))
            contract = front.contract
            return ContractInfo(contract.conId, contract.symbol, contract.localSymbol, "FUT", contract.currency,
                                contract.exchange, self.multipliers[instrument.symbol],
                                contract.lastTradeDateOrContractMonth)
        raise ValueError(f"the backtest cannot replay {instrument}")

    def _con_id(self, symbol: str) -> int:
        return self.con_ids.get(symbol) or stable_con_id(symbol)


def bar_symbol(instrument: Instrument) -> str:
    """The bars that price `instrument`: a stock's or index's symbol, a future's root, a pair without its dot."""
    return instrument.pair if isinstance(instrument, Forex) else instrument.symbol


def stable_con_id(name: str) -> int:
    """A conId for a contract the bars do not name: the same for the same name in every run."""
    return zlib.crc32(name.encode()) or 1


def third_friday(year: int, month: int) -> date:
    """The last trade date of CME's equity index futures (the third Friday of the contract month)."""
    first = date(year, month, 1)
    return first + timedelta(days=(calendar.FRIDAY - first.weekday()) % 7 + 14)


class _Detail:
    def __init__(self, contract: Contract):
        self.contract = contract
        self.contractMonth = contract.lastTradeDateOrContractMonth[:6]


@lru_cache(maxsize=4096)
def _listed(symbol: str, exchange: str, currency: str, scheme: str, today: date) -> tuple:
    """The contracts of the series listed around `today`, as IB's contract details would list them."""
    months = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} if scheme == "monthly" else {3, 6, 9, 12}
    details = []
    for offset in range(-1, LISTED_MONTHS):
        year, month = divmod(today.year * 12 + today.month - 1 + offset, 12)
        month += 1
        if month not in months:
            continue
        expiry = third_friday(year, month)
        local_symbol = f"{symbol}{MONTH_CODES[month - 1]}{year % 10}"
        details.append(_Detail(Contract(secType="FUT", conId=stable_con_id(f"{symbol}{expiry:%Y%m%d}"),
                                        symbol=symbol, localSymbol=local_symbol, exchange=exchange,
                                        currency=currency, lastTradeDateOrContractMonth=f"{expiry:%Y%m%d}")))
    return tuple(details)
