"""A background sender: one thread per channel and worker that drains the outbox, so that delivering an event never
runs on a request thread or on the IB loop, and a delivery that fails never fails the run that caused it."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Callable

from lib.events import outbox
from lib.events.outbox import Event

log = logging.getLogger(__name__)

# every look at the outbox is a store query (a billed read on Firestore)
POLL_S = 5.0
# a claimed batch is this sender's for LEASE_S; it stops delivering with less than LEASE_MARGIN_S left (a delivery
# takes at most the channel's timeout, 5 s), so that another worker taking the rest over never sends one twice
LEASE_S = 20.0
LEASE_MARGIN_S = 10.0
BATCH = 50
# a failed delivery is retried after 2, 4, 8 ... seconds, at most every 5 minutes
BACKOFF_INITIAL_S = 2.0
BACKOFF_MAX_S = 300.0


def backoff_s(attempts: int) -> float:
    """The wait before the next try of a delivery that failed `attempts` times before this failure."""
    return min(BACKOFF_MAX_S, BACKOFF_INITIAL_S * 2 ** attempts)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class OutboxSender:
    """Delivers the outbox's events on one channel.

    Parameters:
        store: the DocumentStore holding the outbox (or a function returning it, for a store opened lazily).
        channel: one of `outbox.CHANNELS`.
        mode: the trading mode whose events this worker delivers.
        deliver: called with each Event; returns `outbox.SENT` or `outbox.SKIPPED`, raises when delivery failed.
        clock: the current UTC time.
        poll_s: the wait between two looks at an empty outbox.
        enabled: whether the channel can deliver now (a webhook not configured leaves its events waiting).
    """

    def __init__(self, store, channel: str, mode: str, deliver: Callable[[Event], str], *,
                 clock: Callable[[], datetime] = _utc_now, poll_s: float = POLL_S, lease_s: float = LEASE_S,
                 enabled: Callable[[], bool] = lambda: True):
        self._store = store
        self.channel = channel
        self.mode = mode
        self.enabled = enabled
        self.deliver = deliver
        self.clock = clock
        self.poll_s = poll_s
        self.lease_s = lease_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def store(self):
        return self._store() if callable(self._store) else self._store

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"outbox-{self.channel}", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def drain_once(self) -> int:
        """Deliver one batch of the events this channel has not delivered; returns how many were tried."""
        if not self.enabled():
            return 0
        claimed = self.clock()
        events = outbox.claim(self.store, self.channel, self.mode, claimed, self.lease_s, BATCH)
        for event in events:
            if self._stopping.is_set() or (self.clock() - claimed).total_seconds() > self.lease_s - LEASE_MARGIN_S:
                break  # the rest stay leased and are taken over when their lease runs out
            self._deliver(event)
        return len(events)

    def _deliver(self, event: Event) -> None:
        try:
            outcome = self.deliver(event)
        except Exception as exc:  # every failure is retried: the event stays in the outbox
            wait_s = backoff_s(event.attempts)
            log.warning("delivering event %s (%s) on %s failed (attempt %d), retrying in %.0f s: %s", event.id,
                        event.kind, self.channel, event.attempts + 1, wait_s, exc,
                        extra={"fields": {"event": "eventDeliveryFailed", "channel": self.channel,
                                          "eventId": event.id, "eventKind": event.kind}})
            outbox.failed(self.store, self.channel, event, self.clock(), wait_s, f"{type(exc).__name__}: {exc}")
            return
        outbox.delivered(self.store, self.channel, event.id, outcome, self.clock())

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.drain_once()
            except Exception:  # a store that fails now may answer later; the thread must outlive it
                log.exception("the %s sender could not read the outbox", self.channel)
                busy = 0
            if not busy:
                self._stopping.wait(self.poll_s)
