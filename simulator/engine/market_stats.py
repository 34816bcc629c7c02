"""Values of the generic ticks a market data request can add (reqMktData's genericTickList), from the market.

Tick types and meanings are IB's (TWS API docs, tick_types.html): 236 asks for Shortable (46, a tickGeneric whose
value above 2.5 means at least 1000 shares are available to short, above 1.5 that shares must first be located,
1.5 or less not shortable) and Shortable Shares (89); 165 for the 13/26/52-week lows and highs (15-20) and the
90-day average volume (21); 106 for the underlying's 30-day option implied volatility (24); 233 for RTVolume (48).
"""

from __future__ import annotations

from datetime import timedelta

from simulator.engine.catalog import ContractSpec
from simulator.engine.market import Market, Quote
from simulator.engine.price_model import DEFAULT_INSTRUMENT, INSTRUMENTS

SHORTABLE_EASY, SHORTABLE_LOCATE, NOT_SHORTABLE = 3.0, 2.0, 1.0
# share of a stock's daily volume its lenders make available to short
LENDABLE_SHARE = 0.5
AVERAGE_VOLUME_SESSIONS = 90
# (low tick, high tick, weeks)
WEEK_RANGES = ((15, 16, 13), (17, 18, 26), (19, 20, 52))
AVERAGE_VOLUME = 21


def shortable(spec: ContractSpec) -> tuple[float, float] | None:
    """(tick 46 value, shortable shares) of a stock or ETF; None for what is not a stock. The catalog lists
    large, liquid names only, so every one is easy to borrow."""
    if spec.sec_type != "STK":
        return None
    model = INSTRUMENTS.get(spec.symbol, DEFAULT_INSTRUMENT)
    return SHORTABLE_EASY, float(round(model.daily_volume * LENDABLE_SHARE, -2))


def implied_volatility(spec: ContractSpec) -> float | None:
    """Tick 24: the model's annual volatility, for stocks and ETFs (every one in the catalog has listed
    options); None for other contracts, for which IB sends no such tick."""
    if spec.sec_type != "STK":
        return None
    return INSTRUMENTS.get(spec.symbol, DEFAULT_INSTRUMENT).vol


def misc_stats(market: Market, spec: ContractSpec) -> tuple[dict[int, float], float | None]:
    """({tick type: price} of the 13/26/52-week lows and highs, the 90-session average volume or None where
    nothing trades), from regular-hours daily bars up to now."""
    what = "MIDPOINT" if spec.sec_type == "CASH" else "TRADES"
    bars = market.bars(spec.con_id, end=None, duration="1 Y", bar_size="1 day", use_rth=True, what_to_show=what)
    today = bars[-1].time
    prices: dict[int, float] = {}
    for low_tick, high_tick, weeks in WEEK_RANGES:
        span = [bar for bar in bars if bar.time > today - timedelta(weeks=weeks)]
        prices[low_tick] = min(bar.low for bar in span)
        prices[high_tick] = max(bar.high for bar in span)
    if spec.sec_type not in ("STK", "FUT"):
        return prices, None
    recent = bars[-AVERAGE_VOLUME_SESSIONS - 1:-1] or bars
    return prices, sum(bar.volume for bar in recent) / len(recent)


def rt_volume(quote: Quote, previous: Quote | None = None) -> str:
    """RTVolume (tick 48): "price;size;time in ms;total volume;VWAP;single trade" (TWS API docs, tick_types.html
    "RT Volume"), for the last trade of a quote: its size is what the volume grew by since `previous` (the
    quote's last size without one)."""
    millis = int(round(quote.time.timestamp() * 1000))
    traded = quote.volume - previous.volume if previous is not None else 0.0
    size = int(round(traded)) if traded >= 1 else int(quote.last_size)
    return f"{quote.last};{size};{millis};{int(quote.volume)};{quote.vwap};true"
