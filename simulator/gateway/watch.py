"""The watch loop: quote changes streamed as they happen, accounts and resting orders re-checked as prices move."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from simulator.engine.market import Market
from simulator.gateway.fanout import stream_quotes
from simulator.gateway.session import Session

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.25
REFRESH_INTERVAL_S = 1.0


async def watch(market: Market, sessions: Callable[[], list[Session]], on_change: Callable[[], None], *,
                refresh_interval_s: float = REFRESH_INTERVAL_S) -> None:
    """Every WATCH_INTERVAL_S, stream quote changes to `sessions()`; call `on_change` when the market's version
    moved or `refresh_interval_s` has passed since the last call."""
    loop = asyncio.get_running_loop()
    last_version = market.version
    last_change = loop.time()
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
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
