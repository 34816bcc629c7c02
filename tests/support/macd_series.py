"""Daily close series whose MACD(12, 26, 9) crosses its signal line (or not) exactly on the last bar."""
from __future__ import annotations

import math

FAST_SPAN, SLOW_SPAN, SIGNAL_SPAN = 12, 26, 9
MIN_BARS = SLOW_SPAN + SIGNAL_SPAN + 1
PERIOD_BARS = 30          # one up-and-down swing of the synthetic market
AMPLITUDE = 0.03          # swing of +-3 % around the trend
DRIFT_PER_BAR = 0.0005    # gentle uptrend, like an index
CLEAR_MARGIN = 1e-6       # histogram values this close to 0 are avoided, so float noise cannot flip a sign


def macd_histogram(closes: list[float]) -> list[float]:
    """MACD - signal for every bar, computed like pandas ewm(span, adjust=False) (first EMA value = first input)."""
    def ema(values, span):
        alpha, out = 2 / (span + 1), []
        for value in values:
            out.append(value if not out else alpha * value + (1 - alpha) * out[-1])
        return out

    line = [fast - slow for fast, slow in zip(ema(closes, FAST_SPAN), ema(closes, SLOW_SPAN))]
    return [m - s for m, s in zip(line, ema(line, SIGNAL_SPAN))]


def last_bar_crossover(closes: list[float]) -> str | None:
    """ "bullish", "bearish" or None for the last bar, by the strategy's rule (<= 0 -> > 0, >= 0 -> < 0)."""
    previous, last = macd_histogram(closes)[-2:]
    if previous <= 0 < last:
        return "bullish"
    if previous >= 0 > last:
        return "bearish"
    return None


def crossover_closes(direction: str = "bullish", bars: int = 100, level: float = 500.0) -> list[float]:
    """`bars` closes (cents, oldest first, around `level`) whose MACD crosses its signal on the last bar only then.

    Args:
        direction: "bullish" (histogram from <= 0 to > 0) or "bearish" (from >= 0 to < 0).
    """
    if direction not in ("bullish", "bearish"):
        raise ValueError(f"direction must be 'bullish' or 'bearish', got {direction!r}")
    return _window(bars, level, direction)


def no_crossover_closes(bars: int = 100, level: float = 500.0) -> list[float]:
    """`bars` closes around `level` with no crossover on the last bar (the strategy holds)."""
    return _window(bars, level, None)


def _window(bars: int, level: float, direction: str | None) -> list[float]:
    if bars < MIN_BARS:
        raise ValueError(f"MACD(12, 26, 9) needs at least {MIN_BARS} bars, got {bars}")
    wave = [round(level * (1 + AMPLITUDE * math.sin(2 * math.pi * i / PERIOD_BARS) + DRIFT_PER_BAR * i), 2)
            for i in range(bars + 2 * PERIOD_BARS)]
    # EMAs start at a window's first close, so each candidate window is evaluated on its own.
    for end in range(bars, len(wave) + 1):
        window = wave[end - bars:end]
        previous, last = macd_histogram(window)[-2:]
        clear = abs(last) > CLEAR_MARGIN and (abs(previous) > CLEAR_MARGIN or direction is not None)
        if clear and last_bar_crossover(window) == direction:
            return window
    raise RuntimeError(f"no {bars}-bar window of the synthetic series ends in a {direction or 'no'} crossover")
