"""Prices between whole minutes: the quarter-second lattice that quotes, trades and seconds bars move on.

Ticks are quarter seconds since the epoch (price_paths.TICK_S). Inside a minute the log price follows the model's
quarter-second lattice (PriceModel.log_price_ticks), held inside that minute's one-minute bar (bars.ohlc of the
minute alone), so every tick lies inside its one-minute bar and inside the bars built from whole minutes (2 to 20
minutes), and at a whole minute it is the minute model's price. Bars of half an hour and more draw their extremes
per half hour (see bars) and need not contain every tick. Volume accrues evenly over a minute's ticks.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.engine.bars import Ohlc, ohlc
from simulator.engine.price_model import PriceModel, Series
from simulator.engine.price_paths import MINUTE_S, TICK_S, TICKS_PER_MINUTE

TICKS_PER_S = TICKS_PER_MINUTE // MINUTE_S


def tick_at(epoch_s: float) -> int:
    """The latest tick at or before `epoch_s`."""
    return math.floor(round(epoch_s / TICK_S, 6))


def minute_ticks(model: PriceModel, series: Series, minutes: np.ndarray) -> tuple[np.ndarray, Ohlc]:
    """(minutes, TICKS_PER_MINUTE + 1) log prices at the ticks of each minute, inside its one-minute bar, and
    the log OHLC and volume of those one-minute bars."""
    minutes = np.asarray(minutes, dtype=np.int64)
    starts = minutes * MINUTE_S
    bars = ohlc(model, series, starts, starts + MINUTE_S, minutes_only=True)
    table = np.clip(model.log_price_ticks(series, minutes), bars.low[:, None], bars.high[:, None])
    return table, bars


def log_price_at(model: PriceModel, series: Series, tick: int) -> float:
    """The log price at one tick."""
    minute, column = divmod(int(tick), TICKS_PER_MINUTE)
    if column == 0:
        return float(model.log_prices(series, np.array([minute * MINUTE_S]))[0])
    table, _ = minute_ticks(model, series, np.array([minute]))
    return float(table[0, column])


def tick_ohlc(model: PriceModel, series: Series, first: np.ndarray, last: np.ndarray) -> Ohlc:
    """Log open/high/low/close and volume over each span of ticks first[i]..last[i] (first < last): open at
    the first tick, close at the last, extremes over every tick between."""
    first, last = np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)
    counts = last - first + 1
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    owner = np.repeat(np.arange(len(first)), counts)
    ticks = first[owner] + np.arange(owner.size) - starts[owner]
    minutes, rows = np.unique(ticks // TICKS_PER_MINUTE, return_inverse=True)
    table, bars = minute_ticks(model, series, minutes)
    values = table[rows, ticks % TICKS_PER_MINUTE]
    ends = starts + counts - 1
    # each step from a tick to the next carries its share of the minute's volume; a span's last tick none
    step_volume = bars.volume[rows] / TICKS_PER_MINUTE
    step_volume[ends] = 0.0
    return Ohlc(open=values[starts], high=np.maximum.reduceat(values, starts),
                low=np.minimum.reduceat(values, starts), close=values[ends],
                volume=np.add.reduceat(step_volume, starts))


def ohlc_to_tick(model: PriceModel, series: Series, starts: np.ndarray, ends: np.ndarray, end_tick: int, *,
                 minutes_only: bool = False) -> Ohlc:
    """bars.ohlc of the intervals [starts[i], ends[i]] (whole seconds, minute-aligned) cut at `end_tick`:
    whole minutes as bars.ohlc has them, and the minute in progress from its ticks, merged into the last bar."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    minute_s = end_tick // TICKS_PER_MINUTE * MINUTE_S
    whole_end = np.minimum(ends, minute_s)
    whole = whole_end > starts
    part_first = np.maximum(starts, whole_end) * TICKS_PER_S
    part_last = np.minimum(ends * TICKS_PER_S, end_tick)
    partial = part_last > part_first
    result = {name: np.zeros(len(starts)) for name in ("open", "high", "low", "close", "volume")}
    if whole.any():
        values = ohlc(model, series, starts[whole], whole_end[whole], minutes_only=minutes_only)
        for name in result:
            result[name][whole] = getattr(values, name)
    if partial.any():
        values = tick_ohlc(model, series, part_first[partial], part_last[partial])
        both = whole[partial]
        merged = {"open": np.where(both, result["open"][partial], values.open),
                  "high": np.where(both, np.maximum(result["high"][partial], values.high), values.high),
                  "low": np.where(both, np.minimum(result["low"][partial], values.low), values.low),
                  "close": values.close,
                  "volume": result["volume"][partial] + values.volume}
        for name, value in merged.items():
            result[name][partial] = value
    return Ohlc(**result)
