"""Broker requests made safe and cheap for a connection that many request threads share: single-flight reads.

ib_async files the pending reply of reqAllOpenOrders under the key 'openOrders' (reqPositions under 'positions',
reqCurrentTime under 'currentTime', reqCompletedOrders under 'completedOrders'). IB's replies to these carry no
request id, so a second request of the same kind started before the first one's reply has ended would receive
(part of) that earlier reply: the stale-reply bug, where a caller that timed out leaves its reply in flight and
the next caller's future is resolved by it.

So each kind of request runs at most once at a time per connection, and callers that ask while one is in flight
share the next one, which starts only after the one in flight has ended: every caller gets a reply to a request
that started after it asked, and a reply can only ever reach the request it answers. A caller that gives up
(the bridge's timeout cancels it) does not cancel the shared request, which runs on until IB answers. A reply that
never comes within `STALE_REPLY_S` leaves the connection untrustworthy for that kind of request, so it is closed
and the supervisor reconnects.

The service paces every connection it owns (`pacing`: under IB's 50 messages per second, past which IB answers
error 100) by queueing what it cannot send yet. A request that would only wait in that queue gains nothing by being
handed over early, so the next request of a kind keeps forming until the pacing window has room for it: callers who
ask meanwhile share it, and under load each paced message answers every waiting caller instead of one. Run these
coroutines on the bridge's loop only.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Awaitable, Callable, Generic, TypeVar

from ib_async import IB

from lib.gateway import pacing

log = logging.getLogger(__name__)

T = TypeVar("T")

# far longer than any healthy reply (a few ms to a few seconds); past it the connection is recycled
STALE_REPLY_S = 60.0

_flights: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class SingleFlight(Generic[T]):
    """One request of a kind in flight per connection, and at most one more forming behind it.

    Parameters:
        ib: the connection.
        key: the kind of request (ib_async's own key for its reply, for the log).
        request: starts one broker request and returns ib_async's future (or coroutine) for its reply.
    """

    def __init__(self, ib: IB, key: str, request: Callable[[], Awaitable[T]]):
        self.ib = ib
        self.key = key
        self.request = request
        self._in_flight: asyncio.Task | None = None
        self._forming: asyncio.Task | None = None
        self.started = 0  # broker requests sent, for tests and benchmarks

    async def get(self) -> T:
        """The reply to a request that starts after this call; shares that request with concurrent callers."""
        if self._forming is None:
            self._forming = asyncio.ensure_future(self._after(self._in_flight))
            # every caller may have given up by the time it ends; its outcome is then nobody's to report
            self._forming.add_done_callback(lambda task: task.cancelled() or task.exception())
        return await asyncio.shield(self._forming)

    async def _after(self, previous: asyncio.Task | None) -> T:
        if previous is not None:
            await asyncio.wait({previous})
        await pacing.wait_room(self.ib)
        # from here on this request is the one in flight; later callers form the next one
        self._in_flight, self._forming = self._forming, None
        self.started += 1
        reply = asyncio.ensure_future(self.request())
        done, _ = await asyncio.wait({reply}, timeout=STALE_REPLY_S)
        if not done:
            log.error("IB sent no reply to %s within %.0f s; closing the connection so that no later request "
                      "receives that reply", self.key, STALE_REPLY_S)
            reply.cancel()
            self.ib.disconnect()
            raise ConnectionError(f"IB sent no reply to {self.key} within {STALE_REPLY_S:.0f} s")
        return reply.result()


def flight(ib: IB, key: str, request: Callable[[], Awaitable[T]]) -> SingleFlight[T]:
    """The connection's single-flight slot for `key`, made on first use."""
    slots = _flights.setdefault(ib, {})
    slot = slots.get(key)
    if slot is None:
        slot = slots[key] = SingleFlight(ib, key, request)
    return slot


async def current_time(ib: IB):
    return await flight(ib, "currentTime", ib.reqCurrentTimeAsync).get()


async def all_open_orders(ib: IB) -> list:
    """Open orders of every client of the account (ib_async Trades)."""
    return await flight(ib, "openOrders", ib.reqAllOpenOrdersAsync).get()


async def completed_orders(ib: IB) -> list:
    """Orders placed through the API that IB completed today (reqCompletedOrders with apiOnly), as Trades."""
    return await flight(ib, "completedOrders", lambda: ib.reqCompletedOrdersAsync(True)).get()


async def positions(ib: IB) -> list:
    return await flight(ib, "positions", ib.reqPositionsAsync).get()


async def executions(ib: IB) -> list:
    """reqExecutions' fills, each carrying its commission report.

    ib_async answers with a new Fill for an execution it had already seen (live, or from an earlier request)
    and files the commission report on the first one, so the answer's Fill may lack it: the first one is used.
    Replies carry a request id, so sharing one request is an economy here, not a correction.
    """
    fills = await flight(ib, "executions", ib.reqExecutionsAsync).get()
    known = ib.wrapper.fills
    return [known.get(fill.execution.execId, fill) for fill in fills]
