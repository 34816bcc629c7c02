"""The watch loop: quote changes streamed as they happen, accounts and resting orders re-checked as prices move."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from simulator.engine.market import Market
from simulator.engine.price_paths import TICK_S
from simulator.gateway.fanout import stream_quotes
from simulator.gateway.session import Session

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = TICK_S
REFRESH_INTERVAL_S = 1.0
# wake this long after a tick of the simulated clock, so each wake sees the new tick
TICK_LAG_S = 0.01


def until_next_tick_s(market: Market) -> float:
    """Seconds to sleep until just after the simulated clock's next tick (a whole interval when it is frozen)."""
    if market.clock.frozen:
        return WATCH_INTERVAL_S
    return TICK_S - market.clock.now().timestamp() % TICK_S + TICK_LAG_S


async def watch(market: Market, sessions: Callable[[], list[Session]], on_change: Callable[[], None], *,
                refresh_interval_s: float = REFRESH_INTERVAL_S) -> None:
    """At every tick of the simulated clock (IB's 250 ms snapshots), stream quote and bar changes to
    `sessions()`; call `on_change` when the market's version moved or `refresh_interval_s` has passed since the
    last call."""
    loop = asyncio.get_running_loop()
    last_version = market.version
    last_change = loop.time()
    while True:
        await asyncio.sleep(until_next_tick_s(market))
        try:
            stream_quotes(sessions())
            version = market.version
            now = loop.time()
            if version != last_version or now - last_change >= refresh_interval_s:
                last_version = version
                last_change = now
                on_change()
        except Exception:  # the watcher must survive a bad tick
            log.exception("market watch failed")
