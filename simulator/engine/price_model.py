"""The price model: instrument levels and volatilities, how each contract's log price is composed from unit
Brownian paths, and the piecewise-linear adjustments that overrides and pinned histories add on top.

log price(t) = log(level) + sum(coefficient * W_path(t)) + futures carry(t) + sum(adjustments(t))

- Stocks, ETFs and indices: one path per symbol, coefficient = annual volatility; levels are set for the
  path's anchor date (price_paths.ANCHOR), so prices around it are plausible and drift like a GBM after.
  The NQ and ES indices share the paths of QQQ and SPY, so index, futures and ETF move together.
- Futures: the underlying index path plus a small carry (CARRY_RATE per year until expiry); an override of the
  index moves its futures too. Futures without an index follow a path of their own (FUTURE_PATHS: crude, gold,
  the 10-year note; the Dow futures the DIA ETF's), or, for currency futures, the currency's rate against the
  dollar (an override of EUR.USD moves 6E).
- Forex: every currency has a USD value exp(log level + DOLLAR_VOL * W_dollar + vol * W_currency); a pair is the
  ratio of its currencies' values, so crosses are consistent (EUR.GBP == EUR.USD / GBP.USD) and the shared
  dollar factor gives USD pairs realistic co-movement. Overrides of a pair adjust its non-USD currency (the base
  currency for crosses), so every other pair and fx_rate stay consistent with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time

import numpy as np

from simulator.engine import universe
from simulator.engine.price_paths import MINUTE_S, TICK_S, TICKS_PER_MINUTE, YEAR_S, UnitPath, name_key
from simulator.engine.trading_hours import NEW_YORK

CARRY_RATE = 0.035
DOLLAR_VOL = 0.055


@dataclass(frozen=True)
class Instrument:
    """Model parameters of one price path.

    Parameters:
        level: price at the model's anchor date.
        vol: annual volatility (log returns).
        daily_volume: traded units per regular session (0 = no trade volume, like indices).
        path: the unit path it follows (default: its own symbol's); the NQ and ES indices follow QQQ and SPY,
            the ETFs that track them.
    """

    level: float
    vol: float
    daily_volume: float = 0.0
    path: str = ""


INSTRUMENTS = {
    "SPY": Instrument(600.0, 0.18, 60e6),
    "VIXY": Instrument(40.0, 0.70, 5e6),
    "QQQ": Instrument(520.0, 0.22, 40e6),
    "IWM": Instrument(220.0, 0.24, 30e6),
    "TLT": Instrument(90.0, 0.15, 35e6),
    "IEF": Instrument(95.0, 0.07, 8e6),
    "GLD": Instrument(240.0, 0.15, 8e6),
    "EFA": Instrument(80.0, 0.16, 15e6),
    "VTI": Instrument(290.0, 0.18, 4e6),
    "AAPL": Instrument(230.0, 0.28, 50e6),
    "MSFT": Instrument(430.0, 0.25, 20e6),
    "AMZN": Instrument(200.0, 0.32, 40e6),
    "NVDA": Instrument(130.0, 0.50, 250e6),
    "VIX": Instrument(16.0, 0.80),
    "NQ": Instrument(21000.0, 0.22, path="QQQ"),
    "ES": Instrument(6000.0, 0.18, path="SPY"),
    **{listing.symbol: Instrument(listing.level, listing.vol, listing.daily_volume_m * 1e6)
       for listing in (*universe.S_AND_P_100, *universe.LARGE_ETFS)},
    **{index.symbol: Instrument(index.level, index.vol, path=index.path) for index in universe.INDICES},
}
DEFAULT_INSTRUMENT = Instrument(100.0, 0.30, 1e6)
FUTURES_DAILY_VOLUME = {future.trading_class: future.daily_volume for future in universe.FUTURES}
# futures priced from a path of their own (by trading class; micros share their full-size contract's); the Dow
# futures follow the ETF that tracks the Dow
FUTURE_PATHS = {
    "CL": Instrument(70.0, 0.35, path="FUT:CL"), "MCL": Instrument(70.0, 0.35, path="FUT:CL"),
    "GC": Instrument(3300.0, 0.16, path="FUT:GC"), "MGC": Instrument(3300.0, 0.16, path="FUT:GC"),
    "ZN": Instrument(111.0, 0.06, path="FUT:ZN"),
    "YM": Instrument(44000.0, 0.16, path="DIA"), "MYM": Instrument(44000.0, 0.16, path="DIA"),
}
# currency futures (by trading class) follow their currency's rate against the dollar
CURRENCY_FUTURES = {"6E": "EUR", "M6E": "EUR"}

# USD value of one unit at the anchor date, and the currency's own annual volatility against the dollar factor
CURRENCIES = {
    "EUR": (1.08, 0.045),
    "GBP": (1.27, 0.050),
    "CHF": (1 / 0.88, 0.050),
    "JPY": (1 / 150.0, 0.070),
    "AUD": (0.66, 0.070),
    "CAD": (1 / 1.36, 0.040),
}
DOLLAR_PATH = "FX:USD-factor"
REGULAR_SESSION_S = 6.5 * 3600


def contract_key(con_id: int) -> str:
    return f"CON:{con_id}"


def currency_key(currency: str) -> str:
    return f"CCY:{currency}"


@dataclass(frozen=True)
class Series:
    """How one price (a contract's, or a currency's USD value) is composed.

    Parameters:
        name: names the series' own random streams (bar extremes, volumes, quote sizes).
        log_level: log of the level at the anchor date.
        components: (unit path name, coefficient) pairs.
        adjust_keys: (adjustment key, coefficient) pairs summed into the log price.
        own_key: the adjustment key and coefficient that overrides of this series change.
        expiry_s: futures: epoch seconds of expiry (for the carry); None otherwise.
        volume_per_s: traded units per second of session (0 for forex and indices).
    """

    name: str
    log_level: float
    components: tuple[tuple[str, float], ...]
    adjust_keys: tuple[tuple[str, float], ...]
    own_key: tuple[str, float]
    expiry_s: int | None = None
    volume_per_s: float = 0.0

    @property
    def unit_vol(self) -> float:
        """Annual volatility of the log price."""
        return math.sqrt(sum(coefficient ** 2 for _, coefficient in self.components))


def _currency_terms(currency: str, sign: float) -> tuple[float, list[tuple[str, float]]]:
    """(log level, components) of a currency's USD value, times `sign`."""
    if currency == "USD":
        return 0.0, []
    if currency not in CURRENCIES:
        raise KeyError(f"no exchange rate for currency {currency!r}")
    level, vol = CURRENCIES[currency]
    return sign * math.log(level), [(DOLLAR_PATH, sign * DOLLAR_VOL), (f"FX:{currency}", sign * vol)]


def rate_series(currency: str, base: str) -> Series:
    """The value of one unit of `currency` in `base`."""
    level_c, parts_c = _currency_terms(currency, 1.0)
    level_b, parts_b = _currency_terms(base, -1.0)
    merged: dict[str, float] = {}
    for path, coefficient in parts_c + parts_b:
        merged[path] = merged.get(path, 0.0) + coefficient
    components = tuple((path, c) for path, c in merged.items() if c != 0.0)
    adjusted = currency if currency != "USD" else base
    return Series(name=f"{currency}.{base}", log_level=level_c + level_b, components=components,
                  adjust_keys=((currency_key(currency), 1.0), (currency_key(base), -1.0)),
                  own_key=(currency_key(adjusted), 1.0 if adjusted == currency else -1.0))


def volatility_of(symbol: str) -> float:
    """The annual volatility a symbol's price path has: what option models price its options with."""
    return INSTRUMENTS.get(symbol, DEFAULT_INSTRUMENT).vol


def series_for(spec, index_con_id: dict[str, int]) -> Series:
    """The Series of a catalog contract.

    Args:
        spec: the ContractSpec.
        index_con_id: conId of each index symbol, so futures follow their underlying's overrides.
    """
    own = contract_key(spec.con_id)
    if spec.sec_type == "CASH":
        return rate_series(spec.symbol, spec.currency)
    if spec.sec_type == "FUT":
        expiry_day = datetime.strptime(spec.last_trade_date, "%Y%m%d").date()
        expiry_s = int(datetime.combine(expiry_day, time(9, 30), tzinfo=NEW_YORK).timestamp())
        volume_per_s = FUTURES_DAILY_VOLUME.get(spec.trading_class, 100_000.0) / (23 * 3600)
        if spec.under_con_id:
            index = next(symbol for symbol, con_id in index_con_id.items() if con_id == spec.under_con_id)
            model = INSTRUMENTS[index]
            return Series(name=spec.local_symbol, log_level=math.log(model.level),
                          components=((model.path or index, model.vol),),
                          adjust_keys=((contract_key(spec.under_con_id), 1.0), (own, 1.0)), own_key=(own, 1.0),
                          expiry_s=expiry_s, volume_per_s=volume_per_s)
        if spec.trading_class in CURRENCY_FUTURES:
            rate = rate_series(CURRENCY_FUTURES[spec.trading_class], "USD")
            return Series(name=spec.local_symbol, log_level=rate.log_level, components=rate.components,
                          adjust_keys=(*rate.adjust_keys, (own, 1.0)), own_key=(own, 1.0), expiry_s=expiry_s,
                          volume_per_s=volume_per_s)
        model = FUTURE_PATHS[spec.trading_class]
        return Series(name=spec.local_symbol, log_level=math.log(model.level), components=((model.path, model.vol),),
                      adjust_keys=((own, 1.0),), own_key=(own, 1.0), expiry_s=expiry_s, volume_per_s=volume_per_s)
    model = INSTRUMENTS.get(spec.symbol, DEFAULT_INSTRUMENT)
    return Series(name=spec.local_symbol, log_level=math.log(model.level),
                  components=((model.path or spec.symbol, model.vol),),
                  adjust_keys=((own, 1.0),), own_key=(own, 1.0),
                  volume_per_s=model.daily_volume / REGULAR_SESSION_S if spec.sec_type == "STK" else 0.0)


@dataclass(frozen=True)
class Adjustment:
    """A piecewise-linear shift of a log price: linear between knots, the first knot's value before them and
    the last knot's after them. Times are minute-aligned epoch seconds, increasing. A step from the minute
    t on is the knots (t - 60, 0), (t, shift): prices are only ever read at whole minutes.

    Parameters:
        times_s: knot times.
        values: log shift at each knot.
    """

    times_s: tuple[int, ...]
    values: tuple[float, ...]

    def at(self, times_s: np.ndarray) -> np.ndarray:
        return np.interp(times_s, self.times_s, self.values)

    def to_json(self) -> dict:
        return {"times_s": list(self.times_s), "values": list(self.values)}

    @classmethod
    def from_json(cls, data: dict) -> "Adjustment":
        return cls(tuple(int(t) for t in data["times_s"]), tuple(float(v) for v in data["values"]))


class PriceModel:
    """Evaluates log prices of Series at given times, with the adjustments added so far.

    Parameters:
        seed: the simulation seed.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._paths: dict[str, UnitPath] = {}
        self.adjustments: dict[str, list[Adjustment]] = {}

    def path(self, name: str) -> UnitPath:
        if name not in self._paths:
            self._paths[name] = UnitPath(self.seed, name)
        return self._paths[name]

    def stream_key(self, series: Series, stream: str) -> np.uint64:
        """Key of a series' auxiliary random stream ("high", "low", "volume", "size")."""
        return name_key(self.seed, f"{series.name}/{stream}", 0)

    def log_prices(self, series: Series, times_s: np.ndarray) -> np.ndarray:
        """Log price of `series` at minute-aligned epoch seconds."""
        times_s = np.asarray(times_s, dtype=np.int64)
        values = np.full(times_s.shape, series.log_level, dtype=np.float64)
        for path, coefficient in series.components:
            values += coefficient * self.path(path).at(times_s)
        if series.expiry_s is not None:
            values += CARRY_RATE * np.clip(series.expiry_s - times_s, 0, None) / YEAR_S
        for key, coefficient in series.adjust_keys:
            for adjustment in self.adjustments.get(key, ()):
                values += coefficient * adjustment.at(times_s)
        return values

    def log_price_ticks(self, series: Series, minutes: np.ndarray) -> np.ndarray:
        """(minutes, TICKS_PER_MINUTE + 1) log prices of `series` at the quarter seconds of each minute (minutes
        since the epoch, both ends included); column 0 and the last column equal log_prices at the two minutes."""
        minutes = np.asarray(minutes, dtype=np.int64)
        times_s = minutes[:, None] * MINUTE_S + np.arange(TICKS_PER_MINUTE + 1) * TICK_S
        values = np.full(times_s.shape, series.log_level, dtype=np.float64)
        for path, coefficient in series.components:
            values += coefficient * self.path(path).ticks(minutes)
        if series.expiry_s is not None:
            values += CARRY_RATE * np.clip(series.expiry_s - times_s, 0, None) / YEAR_S
        for key, coefficient in series.adjust_keys:
            for adjustment in self.adjustments.get(key, ()):
                values += coefficient * adjustment.at(times_s)
        return values

    def add(self, key: str, adjustment: Adjustment) -> None:
        self.adjustments.setdefault(key, []).append(adjustment)

    def to_json(self) -> dict:
        return {key: [a.to_json() for a in items] for key, items in self.adjustments.items()}

    def load_json(self, data: dict) -> None:
        self.adjustments = {key: [Adjustment.from_json(item) for item in items] for key, items in data.items()}
