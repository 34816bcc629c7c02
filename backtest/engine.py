"""The replay: for each session, the strategy's requirements and signals on the bars known at its close, sized and
netted by the functions allocation uses (strategies.plan: strategy_exposure, size, net_orders), and the orders
filled at the next session's open (or at this close).

Sizing uses the day's close as the price and the equity at the close (cash plus positions at the close) as
NetLiquidation; positions are in whole contracts or shares, as the live targets are.
"""
from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from backtest.bars import BarSet, BarsError
from backtest.commissions import NoCommissions, TieredCommissions
from backtest.universe import Universe, bar_symbol
from lib.broker.instruments import HistoryRequest, fx_pair_for, fx_rate_to_base
from lib.broker.parsing import ContractInfo
from lib.config import TradingConfig, check_bounds
from lib.errors import ServiceError
from strategies.base import Strategy, StrategyInputs
from strategies.plan import StrategyPlan, net_orders, size, strategy_exposure
from strategies.schedule import sessions as calendar_sessions

FILL_AT = ("open", "close")
_DURATION = re.compile(r"^\s*(\d+)\s+([DWMY])\s*$")


@dataclass(frozen=True)
class Options:
    """How to replay.

    Attributes:
        start, end: the first and last sessions replayed (inclusive).
        cash: the starting NetLiquidation in the base currency.
        base: the base currency.
        fill_at: "open" (the next session's open) or "close" (the deciding session's close).
        commissions: IB's tiered commissions (False: none).
        config: the trading config sizing reads (exposure.overall, exposure.strategies.{id}, maxOrderNotional);
            default: the strategy alone on the whole account.
        calendar: the exchange calendar whose sessions are replayed.
    """

    start: date
    end: date
    cash: float = 1_000_000.0
    base: str = "USD"
    fill_at: str = "open"
    commissions: bool = True
    config: TradingConfig | None = None
    calendar: str = "XNYS"

    def __post_init__(self):
        if self.fill_at not in FILL_AT:
            raise ValueError(f"fill_at must be one of {', '.join(FILL_AT)}, got {self.fill_at!r}")
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if not (math.isfinite(self.cash) and self.cash > 0):
            raise ValueError(f"cash must be a positive number, got {self.cash!r}")


@dataclass(frozen=True)
class Fill:
    day: date
    con_id: int
    local_symbol: str
    quantity: int
    price: float
    commission: float
    value_in_base: float


@dataclass(frozen=True)
class Decision:
    """What the strategy decided at a session's close: its targets (None when holding) or the error."""

    day: date
    targets: dict[int, int] | None
    error: str | None = None


@dataclass
class Result:
    strategy: str
    options: Options
    equity: pd.Series
    fills: list[Fill] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    contracts: dict[int, ContractInfo] = field(default_factory=dict)


class _Prices:
    """Each symbol's opens and closes on the replayed sessions (closes carried over sessions without a bar), and
    how many of its bars are known at each session's close."""

    def __init__(self, bars: BarSet, days: list[date]):
        self.bars = bars
        self.days = days
        self._index = {day: i for i, day in enumerate(days)}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def arrays(self, symbol: str):
        if symbol not in self._arrays:
            frame = self.bars.frame(symbol)
            dates = np.array(frame["date"].map(date.toordinal), dtype=np.int64)
            wanted = np.array([day.toordinal() for day in self.days], dtype=np.int64)
            known = np.searchsorted(dates, wanted, side="right")
            closes = frame["close"].to_numpy(dtype=float)
            opens = frame["open"].to_numpy(dtype=float)
            carried = np.where(known > 0, closes[np.maximum(known - 1, 0)], np.nan)
            on_day = (known > 0) & (dates[np.maximum(known - 1, 0)] == wanted)
            self._arrays[symbol] = (known, carried, np.where(on_day, opens[np.maximum(known - 1, 0)], np.nan))
        return self._arrays[symbol]

    def close(self, symbol: str, i: int) -> float:
        return float(self.arrays(symbol)[1][i])

    def open(self, symbol: str, i: int) -> float:
        return float(self.arrays(symbol)[2][i])

    def history(self, symbol: str, request: HistoryRequest, i: int) -> pd.DataFrame:
        """The bars a reqHistoricalData of `request` would give at session i's close: "N D" is the last N
        sessions' bars (IB counts trading days), W/M/Y a calendar span back from the latest bar."""
        known = int(self.arrays(symbol)[0][i])
        frame = self.bars.frame(symbol)
        match = _DURATION.match(request.duration)
        if request.bar_size != "1 day" or not match:
            raise BarsError(f"the backtest replays daily bars with durations in D, W, M or Y; got "
                            f"{request.duration!r} of {request.bar_size!r}")
        count, unit = int(match.group(1)), match.group(2)
        if unit == "D":
            return frame.iloc[max(0, known - count):known]
        if known == 0:
            return frame.iloc[0:0]
        latest = frame["date"].iat[known - 1]
        span = {"W": timedelta(weeks=count), "M": timedelta(days=round(30.44 * count)),
                "Y": timedelta(days=round(365.25 * count))}[unit]
        first = bisect.bisect_right(list(frame["date"].iloc[:known]), latest - span)
        return frame.iloc[first:known]


class _Histories(Mapping):
    """A strategy's histories, each cut from the bars only when the strategy reads it."""

    def __init__(self, prices: _Prices, requests: Mapping[str, tuple[str, HistoryRequest]], i: int):
        self._prices, self._requests, self._i = prices, requests, i
        self._cut: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._cut:
            symbol, request = self._requests[name]
            self._cut[name] = self._prices.history(symbol, request, self._i)
        return self._cut[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._requests)

    def __len__(self) -> int:
        return len(self._requests)


def sessions_between(start: date, end: date, calendar: str) -> list[date]:
    days = calendar_sessions(calendar)
    return list(days[bisect.bisect_left(days, start):bisect.bisect_right(days, end)])


def default_config(strategy_id: str) -> TradingConfig:
    return TradingConfig({"exposure": {"overall": 1.0, "strategies": {strategy_id: 1.0}}}, "backtest")


def run(strategy: Strategy, bars: BarSet, options: Options, *, universe: Universe | None = None,
        progress: Callable[[int, int], None] | None = None) -> Result:
    """Replay `strategy` over the sessions from options.start to options.end.

    Raises:
        BarsError: no session in the range, or bars missing for an instrument the strategy needs.
    """
    days = sessions_between(options.start, options.end, options.calendar)
    if not days:
        raise BarsError(f"no {options.calendar} session between {options.start} and {options.end}")
    universe = universe or Universe(bars.con_ids)
    config = options.config or default_config(strategy.id)
    check_bounds(config)
    max_notional = config.number("maxOrderNotional", None)
    prices = _Prices(bars, days)
    commissions = TieredCommissions() if options.commissions else NoCommissions()
    result = Result(strategy.id, options, pd.Series(dtype=float))
    cash = options.cash
    holdings: dict[int, int] = {}
    pending: dict[int, int] = {}
    equity = np.empty(len(days))

    def fx(contract: ContractInfo, i: int) -> float:
        if contract.currency == options.base:
            return 1.0
        pair = fx_pair_for(contract.currency, options.base)
        return fx_rate_to_base(contract.currency, options.base, pair, prices.close(pair.pair, i))

    def fill(con_id: int, quantity: int, price: float, i: int) -> None:
        nonlocal cash
        contract = result.contracts[con_id]
        rate = fx(contract, i)
        commission = commissions.charge(contract, quantity, price, days[i])
        value = quantity * price * contract.multiplier * rate
        cash -= value + commission * rate
        holdings[con_id] = holdings.get(con_id, 0) + quantity
        if not holdings[con_id]:
            del holdings[con_id]
        result.fills.append(Fill(days[i], con_id, contract.local_symbol, quantity, price, commission, value))

    def mark(i: int) -> float:
        return cash + sum(quantity * prices.close(universe.symbols[con_id], i) * result.contracts[con_id].multiplier
                          * fx(result.contracts[con_id], i) for con_id, quantity in holdings.items())

    for i, day in enumerate(days):
        for con_id, quantity in list(pending.items()):
            price = prices.open(universe.symbols[con_id], i)
            if math.isfinite(price):
                fill(con_id, quantity, price, i)
                del pending[con_id]
        net_liquidation = mark(i)
        orders = _decide(strategy, universe, prices, config, result, holdings, net_liquidation, i, fx, max_notional)
        for con_id, quantity in orders.items():
            if options.fill_at == "close":
                fill(con_id, quantity, prices.close(universe.symbols[con_id], i), i)
            else:
                pending[con_id] = pending.get(con_id, 0) + quantity
        equity[i] = mark(i)
        if progress is not None:
            progress(i + 1, len(days))
    result.equity = pd.Series(equity, index=pd.DatetimeIndex(days), name="equity")
    return result


def _decide(strategy: Strategy, universe: Universe, prices: _Prices, config: TradingConfig, result: Result,
            holdings: dict[int, int], net_liquidation: float, i: int, fx, max_notional) -> dict[int, int]:
    """The session's netted orders {conId: quantity}, through allocation's planning functions."""
    day = prices.days[i]
    plan = StrategyPlan(strategy.id, dict(holdings), {})
    try:
        plan.exposure = strategy_exposure(net_liquidation, config, strategy.id)
        requirements = strategy.requirements(day)
        named = {name: universe.resolve(instrument, day) for name, instrument in requirements.instruments.items()}
        for info in named.values():
            result.contracts.setdefault(info.con_id, info)
        histories = {name: (bar_symbol(requirements.instruments[request.instrument]), request)
                     for name, request in requirements.histories.items()}
        inputs = StrategyInputs(contracts=named, bars=_Histories(prices, histories, i), holdings=dict(holdings),
                                today=day)
        plan.signals = strategy.signals(inputs)
    except (ServiceError, ValueError) as exc:
        result.decisions.append(Decision(day, None, f"{type(exc).__name__}: {exc}"))
        return {}
    if plan.signals.hold:
        return {}
    wanted = sorted({*holdings, *plan.signals.con_ids})
    unknown = [con_id for con_id in wanted if con_id not in result.contracts]
    if unknown:
        result.decisions.append(Decision(day, None, f"ValueError: unknown conId(s) {unknown}"))
        return {}
    day_prices = {con_id: prices.close(universe.symbols[con_id], i) for con_id in wanted}
    day_prices = {con_id: price if math.isfinite(price) else BarsError(f"no bar yet for conId {con_id}")
                  for con_id, price in day_prices.items()}
    rates = {con_id: fx(result.contracts[con_id], i) for con_id in wanted}
    try:
        size(plan, day_prices, {con_id: result.contracts[con_id].multiplier for con_id in wanted}, rates)
    except ValueError as exc:
        plan.error = str(exc)
    result.decisions.append(Decision(day, plan.targets, plan.error))
    if plan.error is not None:
        return {}
    planned = net_orders([plan], result.contracts, day_prices, rates, max_notional)
    return {order.trade.con_id: order.trade.quantity for order in planned if order.refused is None}
