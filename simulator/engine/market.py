"""The simulated market: current prices, quotes, historical bars and exchange rates, plus the overrides and
pinned histories that tests and demos set.

Prices at a clock time depend only on the seed, the contract and that time (and the overrides): see
price_paths (the random source) and price_model (levels, volatilities, forex, futures carry). A contract's
price moves only while it trades (stocks 04:00-20:00 New York, futures and forex nearly 24 hours, indices in
regular hours, see trading_hours); between sessions it stays at the last session's close. Inside a session it
moves every quarter second (see intraminute: IB's 250 ms snapshots), inside each one-minute bar. The current price
is the close of the latest bar, whatever the bar size (for stocks outside regular hours: of the extended-hours bars,
useRTH=False, as regular-hours bars stop at 16:00).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from simulator.engine import options, trading_hours
from simulator.engine.bars import (
    HMDS_ERROR, INTRADAY_SIZES_S, SECONDS_SIZES_S, TRADE_TYPES, WHAT_TO_SHOW, Bar, aggregate, check_request_size,
    check_seconds_span, daily_intervals, intraday_intervals, parse_bar_size, parse_duration, round_to_tick,
    select_sessions, to_bars)
from simulator.engine.catalog import Catalog, ContractSpec
from simulator.engine.clock import Clock
from simulator.engine.intraminute import TICKS_PER_S, log_price_at, ohlc_to_tick, tick_at, tick_ohlc
from simulator.engine.price_model import Adjustment, PriceModel, Series, rate_series, series_for, volatility_of
from simulator.engine.price_paths import GRID_S, MINUTE_S, TICK_S, TICKS_PER_MINUTE, uniforms

__all__ = ["Bar", "Market", "Quote"]

log = logging.getLogger(__name__)

CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Quote:
    """A market data snapshot.

    Parameters:
        bid, ask: one tick either side of last (forex: last is the midpoint, the spread one pip).
        last: the current price, equal to the latest bar's close.
        close: the previous session's close (regular hours for stocks).
        high, low, open: the current (or, between sessions, the last) session so far, extended hours included.
        bid_size, ask_size, last_size: sizes in units (shares, contracts, currency units); 0 where IB sends none.
        volume: units traded in the session so far (0 for forex and indices).
        time: the time of the last price change (the last traded tick: a quarter second).
        vwap: the session's volume-weighted average price so far (the typical price of the session's bar).
    """

    bid: float
    ask: float
    last: float
    close: float
    high: float
    low: float
    open: float
    bid_size: float
    ask_size: float
    last_size: float
    volume: float
    time: datetime
    vwap: float = 0.0


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _at(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, timezone.utc)


def _size_draws(model: PriceModel, series: Series, tick: int) -> tuple[float, float]:
    """Two uniforms for the bid and ask sizes at a tick: a whole minute keeps its minute's draws ("size"), the
    ticks inside a minute draw their own ("tick-size")."""
    minute, column = divmod(tick, TICKS_PER_MINUTE)
    key = model.stream_key(series, "size" if column == 0 else "tick-size")
    index = np.array([minute if column == 0 else tick])
    return float(uniforms(key, index, 0)[0]), float(uniforms(key, index, 1)[0])


class Market:
    """Prices, quotes, bars and exchange rates for every catalog contract.

    Parameters:
        seed: the simulation seed; the same seed gives the same prices.
        catalog: the contracts.
        clock: the simulated clock ("now").

    `version` increases on every override, pin or state load, and when the clock enters a new minute: what
    accounts and resting orders are re-checked on. Quotes move every tick (a quarter second); streaming
    subscribers re-read quote() at that pace.
    """

    def __init__(self, seed: int, catalog: Catalog, clock: Clock):
        self.catalog = catalog
        self.clock = clock
        self.model = PriceModel(seed)
        self._changes = 0
        self._series: dict[int, Series] = {}
        self._index_con_ids = {spec.symbol: spec.con_id for spec in catalog.all() if spec.sec_type == "IND"}
        self._cache: dict[tuple, object] = {}

    @property
    def version(self) -> int:
        return self._changes + int(self.clock.now().timestamp() // MINUTE_S)

    # --- reading -------------------------------------------------------------------------------------

    def price(self, con_id: int) -> float:
        """The current price (last trade; the midpoint for forex), rounded to the contract's tick."""
        spec = self._spec(con_id)
        if spec.sec_type == "OPT":
            return self._option_price(spec, self.price(spec.under_con_id), self.clock.now())
        tick = self._trade_tick(spec)
        return self._cached(("price", spec.con_id, tick), lambda: self._price_at(spec, tick))

    def price_at(self, con_id: int, moment: datetime) -> float:
        """The price at any moment up to now, at quarter-second resolution, consistent with the bars (inside the
        one-minute bar of its minute): what real-time bars, tick-by-tick and historical ticks are built on.
        Between sessions it is the last session's close. Raises ValueError for a moment after now."""
        if _utc(moment) > self.clock.now():
            raise ValueError(f"{moment} is after the simulated clock's now")
        spec = self._spec(con_id)
        if spec.sec_type == "OPT":
            return self._option_price(spec, self.price_at(spec.under_con_id, moment), _utc(moment))
        tick = self._trade_tick_for(trading_hours.trading_kind(spec.sec_type), moment)
        return self._cached(("price", spec.con_id, tick), lambda: self._price_at(spec, tick))

    def quote(self, con_id: int) -> Quote:
        """Bid/ask one tick around the current price, session open/high/low/volume, previous close."""
        spec = self._spec(con_id)
        if spec.sec_type == "OPT":
            return self._option_quote(spec)
        tick = self._trade_tick(spec)
        return self._cached(("quote", spec.con_id, tick), lambda: self._quote_at(spec, tick))

    def option_model(self, con_id: int) -> tuple[options.Greeks, float, float]:
        """(model price and greeks, volatility, underlying price) of an option now: Black-Scholes at the
        underlying's path volatility, what its quotes and tickOptionComputation report."""
        spec = self._spec(con_id)
        under = self.price(spec.under_con_id)
        vol = volatility_of(spec.symbol)
        years = options.years_to_expiry(spec.last_trade_date, self.clock.now())
        return options.black_scholes(spec.right, under, spec.strike, years, vol), vol, under

    def fx_rate(self, currency: str, base: str) -> float:
        """Value of one unit of `currency` in `base` (1.0 when equal); KeyError for an unmodelled currency."""
        currency, base = currency.upper(), base.upper()
        if currency == base:
            return 1.0
        tick = self._trade_tick_for(trading_hours.CASH)
        key = ("fx", currency, base, tick)

        def compute() -> float:
            return float(math.exp(log_price_at(self.model, rate_series(currency, base), tick)))

        return self._cached(key, compute)

    def bars(self, con_id: int, *, end: datetime | None, duration: str, bar_size: str, use_rth: bool,
             what_to_show: str = "TRADES") -> list[Bar]:
        """Historical bars ending at `end` (None or later than now: now), like IB's reqHistoricalData.

        Daily bars: one per trading session, the last one being the latest session opened before `end`, in
        progress or not; "N D" gives N sessions. Intraday bars: the sessions a duration covers, cut into bars
        aligned to the clock, the bar in progress included. use_rth only matters for stocks (regular 09:30-16:00
        vs extended 04:00-20:00 New York). TRADES is refused for forex (IB has no trades there; use MIDPOINT,
        BID, ASK or BID_ASK). Raises ValueError with IB's historical-data error prefix for what is unsupported.
        """
        spec = self._spec(con_id)
        if spec.sec_type == "OPT":
            return self._option_bars(spec, end=end, duration=duration, bar_size=bar_size, use_rth=use_rth,
                                     what_to_show=what_to_show)
        size = parse_bar_size(bar_size)
        count, unit = parse_duration(duration)
        what = (what_to_show or "TRADES").strip().upper()
        if what not in WHAT_TO_SHOW:
            raise ValueError(f"{HMDS_ERROR}whatToShow {what_to_show!r} is not supported (use one of "
                             f"{', '.join(WHAT_TO_SHOW)})")
        if spec.sec_type == "CASH" and what in TRADE_TYPES:
            raise ValueError(f"{HMDS_ERROR}No historical market data for {spec.symbol}/CASH@{spec.exchange} "
                             f"Last {size}")
        now = self.clock.now()
        moment = now if end is None else min(_utc(end), now)
        end_tick = tick_at(moment.timestamp())
        second_s = -(-end_tick // TICKS_PER_S)
        minute_s = end_tick // TICKS_PER_MINUTE * MINUTE_S
        kind = trading_hours.session_kind(spec.sec_type, use_rth)
        sessions = select_sessions(kind, second_s, count, unit)
        series = self._series_of(spec)
        if size in SECONDS_SIZES_S:
            labels, starts, ends = intraday_intervals(sessions, second_s, SECONDS_SIZES_S[size],
                                                      second_s - count if unit == "S" else None)
            cut = np.minimum(ends * TICKS_PER_S, end_tick)
            keep = starts * TICKS_PER_S < cut
            labels, starts, cut = [label for label, k in zip(labels, keep) if k], starts[keep], cut[keep]
            check_seconds_span(size, starts, cut / TICKS_PER_S)
            if not labels:
                return []
            values = tick_ohlc(self.model, series, starts * TICKS_PER_S, cut)
        else:
            minutes_only = size in INTRADAY_SIZES_S and INTRADAY_SIZES_S[size] % GRID_S != 0
            check_request_size(sessions, minutes_only)
            # intervals reach into the minute in progress; ohlc_to_tick cuts them at the current tick
            reach_s = -(-end_tick // TICKS_PER_MINUTE) * MINUTE_S
            if size in INTRADAY_SIZES_S:
                labels, starts, ends = intraday_intervals(sessions, reach_s, INTRADAY_SIZES_S[size],
                                                          minute_s - count if unit == "S" else None)
            else:
                labels, starts, ends = daily_intervals(sessions, reach_s)
            if not labels:
                return []
            values = ohlc_to_tick(self.model, series, starts, ends, end_tick, minutes_only=minutes_only)
        tick = spec.min_tick
        shift = {"BID": (-tick, -tick, -tick), "ASK": (tick, tick, tick), "BID_ASK": (0.0, tick, -tick)}
        bars = to_bars(labels, values, tick=tick, shift=shift.get(what, (0.0, 0.0, 0.0)), sec_type=spec.sec_type,
                       with_volume=what in TRADE_TYPES)
        if size in ("1 week", "1 month"):
            bars = aggregate(bars, size)
        return bars

    # --- options ------------------------------------------------------------------------------------

    def _option_price(self, spec: ContractSpec, under: float, moment: datetime) -> float:
        years = options.years_to_expiry(spec.last_trade_date, moment)
        value = options.black_scholes(spec.right, under, spec.strike, years, volatility_of(spec.symbol)).price
        return float(round_to_tick(value, spec.min_tick))

    def _option_quote(self, spec: ContractSpec) -> Quote:
        """The model price as last, a tick either side (bid never below 0), the session's range through the
        model; sizes follow the underlying's book in contracts."""
        under = self.quote(spec.under_con_id)
        now = self.clock.now()

        def at(price: float) -> float:
            return self._option_price(spec, price, now)

        last, tick = at(under.last), spec.min_tick
        ends = sorted((at(under.high), at(under.low)))
        return Quote(
            bid=max(0.0, float(round_to_tick(last - tick, tick))), ask=float(round_to_tick(last + tick, tick)),
            last=last, close=at(under.close), high=max(ends[1], last), low=min(ends[0], last), open=at(under.open),
            bid_size=max(1.0, under.bid_size // 100), ask_size=max(1.0, under.ask_size // 100), last_size=1.0,
            volume=0.0, time=under.time)

    def _option_bars(self, spec: ContractSpec, **request) -> list[Bar]:
        """The underlying's bars (MIDPOINT for quote-based requests) through the model at each bar's time; a put
        falls as the underlying rises, so its high comes from the underlying's low."""
        what = (request.pop("what_to_show") or "TRADES").strip().upper()
        if what not in WHAT_TO_SHOW:
            raise ValueError(f"{HMDS_ERROR}whatToShow {what!r} is not supported (use one of "
                             f"{', '.join(WHAT_TO_SHOW)})")
        under_what = "TRADES" if what in TRADE_TYPES else "MIDPOINT"
        bars = []
        for bar in self.bars(spec.under_con_id, what_to_show=under_what, **request):
            def at(price: float) -> float:
                return self._option_price(spec, price, bar.time)

            high, low = (at(bar.high), at(bar.low)) if spec.right == "C" else (at(bar.low), at(bar.high))
            close = at(bar.close)
            bars.append(dataclasses.replace(bar, open=at(bar.open), high=high, low=low, close=close, volume=0.0,
                                            wap=close, count=0))
        return bars

    # --- overrides -----------------------------------------------------------------------------------

    def set_price(self, con_id: int, price: float) -> None:
        """From now on the price is `price` (rounded to the tick), and so is the latest bar's close; later
        clock steps move on from there. Forex: shifts the pair's non-USD currency (a cross's base currency), so
        other pairs and fx_rate stay consistent. Setting an index moves its futures by the same ratio."""
        spec = self._own_path_spec(con_id)
        target = self._target(spec, price)
        tick = self._trade_tick(spec)
        trade_s = tick // TICKS_PER_MINUTE * MINUTE_S
        series = self._series_of(spec)
        # the shift is constant from the minute of the current tick on, so the whole minute (its bar and ticks)
        # moves with it and the current tick lands on the target
        current = log_price_at(self.model, series, tick)
        key, coefficient = series.own_key
        shift = (math.log(target) - current) / coefficient
        self.model.add(key, Adjustment((trade_s - MINUTE_S, trade_s), (0.0, shift)))
        self._changed()
        log.info("price of %s set to %s", spec.local_symbol, target)

    def move_price(self, con_id: int, pct: float) -> None:
        """price *= (1 + pct / 100)."""
        if not math.isfinite(pct) or pct <= -100:
            raise ValueError(f"a move must be a finite percentage above -100, got {pct}")
        self.set_price(con_id, self.price(con_id) * (1 + pct / 100))

    def pin_history(self, con_id: int, closes: list[float]) -> None:
        """Make the last len(closes) daily bars (regular-hours sessions for stocks, the latest one included)
        close exactly at `closes` (rounded to the tick), and the current price closes[-1].

        The log shift is piecewise linear in time through each pinned session's close (for stocks both the
        16:00 and the 20:00 close, so daily bars with and without useRTH agree) and now; older history is
        shifted by the first pinned close's amount, so it joins the pinned part without a jump, and the shift
        stays constant after now. Intraday bars follow the same path, so each session's last intraday close
        equals its daily close and open/high/low stay consistent. The pin describes history as of now; when
        the clock moves on, prices continue from closes[-1].
        """
        if not closes:
            raise ValueError("pin_history needs at least one close")
        spec = self._own_path_spec(con_id)
        targets = [self._target(spec, value) for value in closes]
        trade_s = self._trade_time_s(spec)
        now_s = int(self.clock.now().timestamp()) // MINUTE_S * MINUTE_S
        primary = trading_hours.session_kind(spec.sec_type, use_rth=True)
        kinds = {primary, trading_hours.trading_kind(spec.sec_type)}
        knots: dict[int, float] = {}
        for session, target in zip(trading_hours.sessions_started(primary, _at(now_s), len(targets)), targets):
            for kind in kinds:
                same_day = trading_hours.session_on(kind, session.day)
                if same_day is not None:
                    knots[min(int(same_day.end.timestamp()), trade_s)] = math.log(target)
        knots[trade_s] = math.log(targets[-1])
        times = np.array(sorted(knots), dtype=np.int64)
        series = self._series_of(spec)
        key, coefficient = series.own_key
        current = self.model.log_prices(series, times)
        # the shift is constant from the current minute on: make the current tick (inside it) the last close
        current[times == trade_s] = log_price_at(self.model, series, self._trade_tick(spec))
        shifts = (np.array([knots[t] for t in times]) - current) / coefficient
        self.model.add(key, Adjustment(tuple(map(int, times)), tuple(map(float, shifts))))
        self._changed()
        log.info("history of %s pinned: %d closes ending %s", spec.local_symbol, len(targets), targets[-1])

    def to_state(self) -> dict:
        """Overrides and pins, JSON-able."""
        return {"adjustments": self.model.to_json()}

    def load_state(self, state: dict) -> None:
        """Restore what to_state() returned (replaces the current overrides and pins)."""
        self.model.load_json(state.get("adjustments", {}))
        self._changed()

    # --- internals -----------------------------------------------------------------------------------

    def _spec(self, con_id: int) -> ContractSpec:
        spec = self.catalog.by_con_id(con_id)
        if spec is None:
            raise KeyError(f"unknown conId {con_id}")
        return spec

    def _own_path_spec(self, con_id: int) -> ContractSpec:
        """A contract with a price path of its own, which overrides and pins move (options follow their
        underlying)."""
        spec = self._spec(con_id)
        if spec.sec_type == "OPT":
            raise ValueError(f"{spec.local_symbol} is priced from {spec.symbol}: set or pin the underlying")
        return spec

    def _series_of(self, spec: ContractSpec) -> Series:
        series = self._series.get(spec.con_id)
        if series is None:
            series = self._series[spec.con_id] = series_for(spec, self._index_con_ids)
        return series

    def _target(self, spec: ContractSpec, price: float) -> float:
        if not (isinstance(price, (int, float)) and math.isfinite(price) and price > 0):
            raise ValueError(f"a price must be a positive number, got {price!r}")
        target = float(round_to_tick(price, spec.min_tick))
        if target <= 0:
            raise ValueError(f"{price} rounds to 0 at the tick {spec.min_tick} of {spec.local_symbol}")
        return target

    def _trade_tick_for(self, kind: str, moment: datetime | None = None) -> int:
        """The latest traded tick at `moment` (default now): the moment rounded down to the tick inside a session,
        else the last close."""
        now_tick = tick_at((self.clock.now() if moment is None else _utc(moment)).timestamp())
        latest = trading_hours.last_session_started(kind, _at(now_tick * TICK_S))
        return min(now_tick, int(latest.end.timestamp()) * TICKS_PER_S)

    def _trade_tick(self, spec: ContractSpec) -> int:
        return self._trade_tick_for(trading_hours.trading_kind(spec.sec_type))

    def _trade_time_s(self, spec: ContractSpec) -> int:
        """The minute of the latest traded tick."""
        return self._trade_tick(spec) // TICKS_PER_MINUTE * MINUTE_S

    def _price_at(self, spec: ContractSpec, tick: int) -> float:
        value = log_price_at(self.model, self._series_of(spec), tick)
        return float(round_to_tick(math.exp(value), spec.min_tick))

    def _previous_close(self, spec: ContractSpec, tick: int) -> float:
        """Close of the last regular session dated before the current trading day."""
        primary = trading_hours.session_kind(spec.sec_type, use_rth=True)
        day = trading_hours.trading_day_of(primary, self.clock.now()) - timedelta(days=1)
        while (previous := trading_hours.session_on(primary, day)) is None:
            day -= timedelta(days=1)
        return self._price_at(spec, min(int(previous.end.timestamp()) * TICKS_PER_S, tick))

    def _quote_at(self, spec: ContractSpec, tick: int) -> Quote:
        series = self._series_of(spec)
        session = trading_hours.last_session_started(trading_hours.trading_kind(spec.sec_type), _at(tick * TICK_S))
        start_s = int(session.start.timestamp())
        last = self._price_at(spec, tick)
        if tick > start_s * TICKS_PER_S:
            reach_s = -(-tick // TICKS_PER_MINUTE) * MINUTE_S
            values = ohlc_to_tick(self.model, series, np.array([start_s]), np.array([reach_s]), tick)
            day = to_bars([_at(start_s)], values, tick=spec.min_tick, shift=(0.0, 0.0, 0.0),
                          sec_type=spec.sec_type, with_volume=True)[0]
        else:
            day = Bar(time=_at(start_s), open=last, high=last, low=last, close=last, volume=0.0, wap=last, count=0)
        increment = spec.min_tick
        draws = _size_draws(self.model, series, tick)
        lot = {"STK": 100.0, "FUT": 1.0, "CASH": 1_000_000.0}.get(spec.sec_type, 0.0)
        traded = spec.sec_type in ("STK", "FUT")
        return Quote(
            bid=float(round_to_tick(last - increment, increment)), ask=float(round_to_tick(last + increment, increment)),
            last=last, close=self._previous_close(spec, tick), high=max(day.high, last), low=min(day.low, last),
            open=day.open, bid_size=lot * (1 + int(draws[0] * 20)), ask_size=lot * (1 + int(draws[1] * 20)),
            last_size=lot if traded else 0.0, volume=day.volume if traded else 0.0, time=_at(tick * TICK_S),
            vwap=day.wap if traded else 0.0)

    def _cached(self, key: tuple, compute):
        value = self._cache.get(key)
        if value is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            value = self._cache[key] = compute()
        return value

    def _changed(self) -> None:
        self._changes += 1
        self._cache.clear()
