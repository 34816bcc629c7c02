"""The gateway's readiness as events: `gateway.down` once a worker's gateway has not been ready for a threshold, and
`gateway.up` when it is ready again, each once per outage whichever worker sees it first.

The outage is kept in `gatewayState/{mode}` ({down, since, eventId}), read and written in the event's transaction:
a second worker that sees the same outage finds it recorded and writes nothing. The watch reads the bridge's
status (a copy under a lock), never the IB loop.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

from lib.events import outbox

log = logging.getLogger(__name__)

POLL_S = 5.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class GatewayWatch:
    """Parameters:
        store: the DocumentStore, or a function returning it.
        mode: the trading mode.
        status: the worker's bridge status (`ready`, `lastError`).
        alert_after_s: how long not ready is an outage.
    """

    def __init__(self, store, mode: str, status: Callable[[], dict], alert_after_s: float, *,
                 clock: Callable[[], datetime] = _utc_now, poll_s: float = POLL_S):
        self._store = store
        self.mode = mode
        self.status = status
        self.alert_after = timedelta(seconds=alert_after_s)
        self.clock = clock
        self.poll_s = poll_s
        self._down_since: datetime | None = None
        self._last_ready: datetime | None = None
        # whether the store may record an outage this worker has not seen end (unknown at start)
        self._maybe_recorded = True
        self._outage_handled = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        return f"gatewayState/{self.mode}"

    def check(self) -> str | None:
        """Look at the gateway once; returns the kind of the event written, if any."""
        status, now = self.status(), self.clock()
        if status.get("ready"):
            self._down_since, self._last_ready, self._outage_handled = None, now, False
            if self._maybe_recorded:
                self._maybe_recorded = False
                return self._transition(False, now, status)
            return None
        if self._down_since is None:
            self._down_since = now
        if now - self._down_since >= self.alert_after and not self._outage_handled:
            self._maybe_recorded = self._outage_handled = True
            return self._transition(True, now, status)
        return None

    def _transition(self, down: bool, now: datetime, status: dict) -> str | None:
        store = self._store() if callable(self._store) else self._store
        since = self._down_since

        def work(tx):
            state = tx.get(self.path) or {"down": False}
            if down:
                # an outage recorded before this worker last saw the gateway ready ended unrecorded (its worker died)
                if state["down"] and (self._last_ready is None or state["since"] >= self._last_ready.isoformat()):
                    return None
                event_id = outbox.stable_id("gateway-down", self.mode, since.isoformat())
                data = {"since": since.isoformat(), "downForSeconds": round((now - since).total_seconds()),
                        "lastError": status.get("lastError"), "clientId": status.get("clientId")}
                tx.set(self.path, {"down": True, "since": since.isoformat(), "eventId": event_id})
                outbox.emit(tx, "gateway.down", event_id, data, at=now.isoformat(), mode=self.mode)
                return "gateway.down"
            if not state["down"]:
                return None
            event_id = outbox.stable_id("gateway-up", self.mode, state["since"])
            tx.set(self.path, {"down": False, "since": now.isoformat(), "eventId": event_id})
            outbox.emit(tx, "gateway.up", event_id, {"downSince": state["since"]}, at=now.isoformat(), mode=self.mode)
            return "gateway.up"

        kind = store.run_transaction(work)
        if kind == "gateway.down":
            log.error("IB Gateway not ready for %.0f s: %s", (now - since).total_seconds(), status.get("lastError"),
                      extra={"fields": {"event": "gatewayDown", "mode": self.mode}})
        return kind

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gateway-watch", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                self.check()
            except Exception:  # the store may fail now and answer later
                log.exception("the gateway watch could not record the gateway's state")
