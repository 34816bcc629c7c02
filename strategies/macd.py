"""MACD indicator and crossover detection on a close series."""
from __future__ import annotations

import pandas as pd

FAST_SPAN = 12
SLOW_SPAN = 26
SIGNAL_SPAN = 9


def macd(closes: pd.Series, fast: int = FAST_SPAN, slow: int = SLOW_SPAN, signal: int = SIGNAL_SPAN) -> pd.DataFrame:
    """MACD = EMA(fast) - EMA(slow) of the closes; signal = EMA(signal) of MACD; histogram = MACD - signal.

    EMAs are pandas ewm(span, adjust=False): e[0] = x[0], e[t] = a x[t] + (1 - a) e[t-1] with a = 2 / (span + 1).
    Returns a frame with columns macd, signal, histogram on the closes' index.
    """
    closes = closes.astype(float)
    line = closes.ewm(span=fast, adjust=False).mean() - closes.ewm(span=slow, adjust=False).mean()
    signal_line = line.ewm(span=signal, adjust=False).mean()
    return pd.DataFrame({"macd": line, "signal": signal_line, "histogram": line - signal_line})


def crossover(histogram: pd.Series) -> str | None:
    """The crossover on the last bar: "bullish" (histogram <= 0 before, > 0 now), "bearish" (>= 0 before, < 0
    now), or None. Needs at least two values."""
    if len(histogram) < 2:
        raise ValueError(f"a crossover needs at least two histogram values, got {len(histogram)}")
    previous, last = float(histogram.iloc[-2]), float(histogram.iloc[-1])
    if previous <= 0 < last:
        return "bullish"
    if previous >= 0 > last:
        return "bearish"
    return None
