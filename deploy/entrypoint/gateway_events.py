"""The gateway's login waiting for IBKR Mobile (`gateway.2fa`) and the entrypoint giving the gateway up
(`gateway.failed`), as outbox events the entrypoint writes itself, each with a JSON log line whose `event` field
deploy/monitoring's metrics count.

The entrypoint writes them, not a watcher in the service: gunicorn starts only once the gateway's API answers, so
during a first login that waits for a second factor, and after the entrypoint gave up, there is no worker to see
anything. The entrypoint is the only process that reads IBC's output and outlives both, and the outbox's stable ids
keep each occurrence one event (the workers' senders deliver it once they run).

IBC's console lines (IbcAlpha/IBC src/ibcalpha/ibc/LoginManager.java, setLoginState and
secondFactorAuthenticationDialogClosed): "Second Factor Authentication initiated" when the login waits for the
second factor, "Login has completed" when it is logged in, and "IBC closing after Second Factor Authentication dialog
timeout" when the prompt went unanswered (IBC then exits with ErrorCodes.ERROR_CODE_2FA_DIALOG_TIMED_OUT, 1111, and
ibcstart.sh starts it again for a live login, whose new prompt is part of the same wait). One wait, from the first
prompt to a completed login, is one `gateway.2fa` event.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Callable

from lib.events import outbox

log = logging.getLogger("deploy.entrypoint")

SECOND_FACTOR_STARTED = "Second Factor Authentication initiated"
LOGIN_COMPLETED = "Login has completed"
SECOND_FACTOR_TIMED_OUT = "IBC closing after Second Factor Authentication dialog timeout"
WRITE_TIMEOUT_S = 20.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class GatewayEvents:
    """Parameters:
        mode: the trading mode.
        open_store: opens the DocumentStore (called once, on a worker thread, when the first event is written).
    """

    def __init__(self, mode: str, open_store: Callable[[], object], *, clock: Callable[[], datetime] = _utc_now):
        self.mode = mode
        self._open_store = open_store
        self._store = None
        self.clock = clock
        self.waiting_since: datetime | None = None
        self.prompts_timed_out = 0
        self._writes: list[asyncio.Task] = []

    def line(self, text: str) -> None:
        """One line of the gateway's output (on the entrypoint's loop)."""
        if SECOND_FACTOR_STARTED in text:
            if self.waiting_since is None:
                self.waiting_since = self.clock()
                log.warning("the gateway's login waits for approval in IBKR Mobile",
                            extra={"fields": {"event": "gateway2fa", "since": self.waiting_since.isoformat()}})
                self._record("gateway.2fa", outbox.stable_id("gateway-2fa", self.mode, self.waiting_since.isoformat()),
                             {"since": self.waiting_since.isoformat()})
        elif SECOND_FACTOR_TIMED_OUT in text:
            self.prompts_timed_out += 1
            log.warning("the IBKR Mobile prompt went unanswered (%d so far); IBC ends the login",
                        self.prompts_timed_out, extra={"fields": {"event": "gateway2faTimedOut"}})
        elif LOGIN_COMPLETED in text:
            self.waiting_since = None

    def gave_up(self, reason: str, exit_code: int | None) -> None:
        """The entrypoint stops trying: the container ends."""
        now = self.clock()
        data = {"reason": reason, "exitCode": exit_code, "secondFactorPromptsTimedOut": self.prompts_timed_out,
                "waitingForSecondFactorSince": self.waiting_since.isoformat() if self.waiting_since else None}
        self._record("gateway.failed", outbox.stable_id("gateway-failed", self.mode, now.isoformat()), data, at=now)

    def _record(self, kind: str, event_id: str, data: dict, *, at: datetime | None = None) -> None:
        at_text = (at or self.clock()).isoformat()
        self._writes.append(asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._write, kind, event_id, data, at_text)))

    def _write(self, kind: str, event_id: str, data: dict, at: str) -> None:
        try:
            if self._store is None:
                self._store = self._open_store()
            outbox.record_once(self._store, kind, event_id, data, at=at, mode=self.mode)
        except Exception:  # the log line above still trips the Monitoring alert
            log.exception("the %s event could not be written", kind,
                          extra={"fields": {"event": "gatewayEventFailed", "eventId": event_id}})

    async def flush(self, timeout_s: float = WRITE_TIMEOUT_S) -> None:
        """Wait for the events being written (before the entrypoint exits)."""
        pending, self._writes = self._writes, []
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
