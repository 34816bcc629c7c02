"""Limit prices for allocation orders: a percentage away from the reference price, on the contract's tick.

A positive offset is marketable (a buy may pay up to that much above the reference price, a sell accepts that much
below it); a negative offset is passive (the order rests until the market comes to it). Rounding to the tick never
makes the limit more aggressive than asked: buys round down, sells round up.
"""
from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

MAX_OFFSET_PERCENT = 50.0


def limit_price(action: str, reference: float, offset_percent: float, min_tick: float) -> float:
    """The limit of a BUY or SELL `offset_percent` away from `reference`, on a multiple of `min_tick`.

    Raises:
        ValueError: no positive price on the tick (a sell far below a price of a few ticks).
    """
    if action not in ("BUY", "SELL"):
        raise ValueError(f"action must be BUY or SELL, got {action!r}")
    if not (math.isfinite(reference) and reference > 0 and math.isfinite(min_tick) and min_tick > 0):
        raise ValueError(f"need a positive reference price and tick, got {reference!r} and {min_tick!r}")
    sign = 1 if action == "BUY" else -1
    raw = Decimal(repr(reference)) * (1 + sign * Decimal(repr(offset_percent)) / 100)
    tick = Decimal(repr(min_tick))
    ticks = (raw / tick).to_integral_value(rounding=ROUND_FLOOR if action == "BUY" else ROUND_CEILING)
    if ticks <= 0:
        raise ValueError(f"{action} {offset_percent:+g}% from {reference} leaves no positive price on tick {min_tick}")
    return float(ticks * tick)
