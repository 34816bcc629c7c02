"""IB's message rate limit, kept by the service itself on every connection it owns.

IB Gateway refuses more than 50 messages a second from one API client: error 100 "Max rate of messages per second
has been exceeded" (TWS API message codes; the RTD server's troubleshooting page states the 50 a second and that
TWS eventually closes the connection). ib_async can pace a connection itself (`Client.MaxRequests` per `RequestsInterval`), but its window and queue are private fields;
the service needs to read them to time its shared reads (`ib_requests`). So the library's pacing is turned off and
every message the library sends, the handshake's sync included, passes through a `MessagePacer` the service owns:
`Client.sendMsg` is where ib_async's `send` hands over each encoded message, and the pacer takes its place.
"""
from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Callable

from ib_async import IB

# ib_async's default, 45 messages per 1 s window, lets 45 leave at once and then holds every message for the rest
# of that second, and shared reads queued behind such a stall are what make a slow tail under load. Windows of
# 2/45 s keep the same rate (at most 46 in any second, under IB's 50) while no message waits much longer than one
# window; docs/development.md's Benchmark shows both.
PACING_MESSAGES = 2
PACING_WINDOW_S = 2 / 45

_pacers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class MessagePacer:
    """At most `max_messages` messages leave in any `window_s`; the others wait in order.

    Parameters:
        send: sends one encoded message at once (the library's own send, its pacing off).
        connected: whether the connection is up; messages queued for a connection that ended are dropped, never
            sent on a later one.
        max_messages, window_s: the rate.
    """

    def __init__(self, send: Callable[[str], None], connected: Callable[[], bool], *,
                 max_messages: int = PACING_MESSAGES, window_s: float = PACING_WINDOW_S):
        self._send = send
        self._connected = connected
        self.max_messages = max_messages
        self.window_s = window_s
        self._sent: deque[float] = deque()
        self._queue: deque[str] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.sent = 0  # messages handed to the socket, for tests

    def send(self, msg: str) -> None:
        self._queue.append(msg)
        self._flush()

    def set_rate(self, max_messages: int, window_s: float) -> None:
        self.max_messages, self.window_s = max_messages, window_s
        self._flush()

    def wait_s(self) -> float:
        """0 when a message sent now leaves at once, else how long until the window may have room for it."""
        now = asyncio.get_running_loop().time()
        self._prune(now)
        waiting = len(self._queue)
        if len(self._sent) + waiting < self.max_messages:
            return 0.0
        # queued messages leave first, one per send time that drops out of the window
        ahead = min(waiting + len(self._sent) - self.max_messages, len(self._sent) - 1)
        return max(self._sent[ahead] + self.window_s - now, 0.001)

    async def wait_room(self) -> None:
        while (delay := self.wait_s()) > 0:
            await asyncio.sleep(delay)

    def _prune(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self.window_s:
            self._sent.popleft()

    def _flush(self) -> None:
        self._timer = None
        if not self._connected():
            self._queue.clear()
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._prune(now)
        while self._queue and len(self._sent) < self.max_messages:
            self._send(self._queue.popleft())
            # the window counts from after the hand-over, not from the clock read before it: a pause in between
            # (the process descheduled) must not open the next window early
            self._sent.append(loop.time())
            self.sent += 1
        if self._queue and self._timer is None:
            self._timer = loop.call_at(self._sent[0] + self.window_s, self._flush)


def install(ib: IB, *, max_messages: int = PACING_MESSAGES, window_s: float = PACING_WINDOW_S) -> MessagePacer:
    """Put a pacer of the service's own between `ib`'s client and its socket; call before connecting."""
    client = ib.client
    client.MaxRequests = 0
    pacer = MessagePacer(client.sendMsg, client.isConnected, max_messages=max_messages, window_s=window_s)
    client.sendMsg = pacer.send
    _pacers[ib] = pacer
    return pacer


def pacer(ib: IB) -> MessagePacer:
    """The pacer `install` put on `ib`."""
    return _pacers[ib]


async def wait_room(ib: IB) -> None:
    """Until a message sent on `ib` would leave at once; at once for a connection the service does not pace."""
    paced = _pacers.get(ib)
    if paced is not None:
        await paced.wait_room()
