"""Broker requests made safe for a connection that many request threads share.

ib_insync files the pending reply of reqAllOpenOrders under the key 'openOrders' (reqPositions under 'positions',
reqCurrentTime under 'currentTime', ...). A second request on the same connection before the first one's reply
ends replaces the first caller's future, which then never resolves, and both replies land in one list. Request
threads of a worker share one connection, so these requests take turns per connection; each caller still gets a
reply that started after it asked. `executions` works around how ib_insync attaches commission reports. Run these
coroutines on the bridge's loop only.
"""
from __future__ import annotations

import asyncio
import weakref
from typing import Awaitable, Callable, TypeVar

from ib_insync import IB

T = TypeVar("T")

_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _in_turn(ib: IB, key: str, request: Callable[[], Awaitable[T]]) -> T:
    locks = _locks.setdefault(ib, {})
    lock = locks.get(key)
    if lock is None:
        lock = locks[key] = asyncio.Lock()
    async with lock:
        return await request()


async def current_time(ib: IB):
    return await _in_turn(ib, "currentTime", ib.reqCurrentTimeAsync)


async def all_open_orders(ib: IB) -> list:
    """Open orders of every client of the account (ib_insync Trades)."""
    return await _in_turn(ib, "openOrders", ib.reqAllOpenOrdersAsync)


async def completed_orders(ib: IB, api_only: bool = True) -> list:
    return await _in_turn(ib, "completedOrders", lambda: ib.reqCompletedOrdersAsync(api_only))


async def positions(ib: IB) -> list:
    return await _in_turn(ib, "positions", ib.reqPositionsAsync)


async def executions(ib: IB) -> list:
    """reqExecutions' fills, each carrying its commission report.

    ib_insync answers with a new Fill for an execution it had already seen (live, or from an earlier request)
    and files the commission report on the first one, so the answer's Fill may lack it: the first one is used.
    """
    fills = await ib.reqExecutionsAsync()
    known = ib.wrapper.fills
    return [known.get(fill.execution.execId, fill) for fill in fills]
