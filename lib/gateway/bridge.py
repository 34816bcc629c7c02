"""Sync-over-async bridge: request threads run work on the one ib_async connection owned by a loop thread."""
from __future__ import annotations

import inspect
import logging
import time
from typing import Awaitable, Callable, Iterable, TypeVar

from ib_async import IB
from ib_async.wrapper import RequestError

from lib.errors import GatewayTimeout, GatewayUnavailable, IBError
from lib.gateway.loop_thread import LoopThread
from lib.gateway.port import BridgePort
from lib.gateway.supervisor import ConnectionSupervisor

log = logging.getLogger(__name__)

T = TypeVar("T")


class IBBridge(BridgePort):
    """Owns one ib_async IB object on a private asyncio loop thread; request threads call into it.

    The IB object is created on the loop thread and only touched there: `call` and `run` hand it to the caller's
    function on that thread. A supervisor connects at start, probes a quiet connection, and reconnects with
    capped exponential backoff; while it is down, `ready` is False and calls fail at once. Each connection gets a
    fresh IB object, so nothing from before a reconnect lingers.

    Parameters:
        host, port: IB Gateway's API socket.
        client_ids: clientId candidates (see worker_client_ids); IB error 326 moves on to the next one.
        connect_timeout_s: budget of one connection attempt including ib_async's initial sync.
        backoff_initial_s, backoff_max_s: delays between failed attempts (doubling, capped, with jitter).
        probe_interval_s: a connection quiet this long is probed with reqCurrentTime.
        probe_timeout_s: a probe unanswered this long marks the socket dead.

    No I/O and no thread happen before `start()`.
    """

    def __init__(self, *, host: str, port: int, client_ids: Iterable[int], connect_timeout_s: float = 10,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 10, probe_interval_s: float = 30,
                 probe_timeout_s: float = 5):
        durations = {"connect_timeout_s": connect_timeout_s, "backoff_initial_s": backoff_initial_s,
                     "backoff_max_s": backoff_max_s, "probe_interval_s": probe_interval_s,
                     "probe_timeout_s": probe_timeout_s}
        for name, value in durations.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if backoff_max_s < backoff_initial_s:
            raise ValueError(f"backoff_max_s ({backoff_max_s}) is below backoff_initial_s ({backoff_initial_s})")
        self._supervisor = ConnectionSupervisor(
            host=host, port=port, client_ids=client_ids, connect_timeout_s=connect_timeout_s,
            backoff_initial_s=backoff_initial_s, backoff_max_s=backoff_max_s, probe_interval_s=probe_interval_s,
            probe_timeout_s=probe_timeout_s)
        self._loop_thread = LoopThread(name=f"ib-bridge-{host}:{port}")

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop thread and the connection supervisor; returns without waiting for the connection.

        Raises:
            RuntimeError: already started (a stopped bridge cannot be restarted either).
        """
        self._loop_thread.start()
        self._loop_thread.spawn(self._supervisor.run).add_done_callback(_report_supervisor_end)

    def stop(self, timeout_s: float = 5) -> None:
        """Disconnect, stop the supervisor and the loop, join the thread; idempotent.

        Calls still running fail with GatewayUnavailable. Gives up waiting after `timeout_s` (logged).
        """
        deadline_s = time.monotonic() + timeout_s
        if self._loop_thread.running:
            try:
                self._loop_thread.submit(self._supervisor.stop, timeout_s)
            except (GatewayUnavailable, GatewayTimeout) as exc:
                log.warning("IB bridge did not disconnect cleanly: %s", exc)
        self._loop_thread.stop(max(0.0, deadline_s - time.monotonic()))

    # --- readiness ----------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Connected and ib_async's initial sync done."""
        return self._supervisor.ready_event.is_set() and self._loop_thread.running

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for readiness; returns whether the bridge is ready."""
        if self._loop_thread.running:
            self._supervisor.ready_event.wait(timeout_s)
        return self.ready

    def status(self) -> dict:
        """JSON-able: connected, ready, clientId, lastError, reconnects, serverVersion."""
        status = self._supervisor.status()
        status["ready"] = status["ready"] and self._loop_thread.running
        return status

    # --- work on the loop ---------------------------------------------------------------------------

    def call(self, fn: Callable[[IB], T], timeout_s: float) -> T:
        """Run `fn(ib)` on the loop thread and return its result (for reading ib state, plain methods).

        Raises:
            GatewayUnavailable: not ready (raised at once), or the connection dropped.
            GatewayTimeout: not done within `timeout_s`.
            IBError: IB answered a request with an error.
            TypeError: `fn` returned an awaitable (use `run`).
            Exceptions raised by `fn` propagate unchanged.
        """
        self._fail_fast()

        async def on_loop():
            result = fn(self._current_session().ib)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError("call() got an awaitable from its function; use run() for coroutines")
            return result

        return self._submit(on_loop, timeout_s)

    def run(self, coro_fn: Callable[[IB], Awaitable[T]], timeout_s: float) -> T:
        """Await `coro_fn(ib)` on the loop and return its result; it is cancelled there on timeout.

        Raises:
            GatewayUnavailable: not ready (raised at once), or the connection dropped during the call.
            GatewayTimeout: not done within `timeout_s`.
            IBError: IB answered a request with an error.
            Exceptions raised by `coro_fn` propagate unchanged.
        """
        self._fail_fast()

        async def on_loop():
            session = self._current_session()
            return await session.guard(coro_fn(session.ib))

        return self._submit(on_loop, timeout_s)

    def _fail_fast(self) -> None:
        if not self.ready:
            reason = self._supervisor.status()["lastError"] or "connecting"
            raise GatewayUnavailable(f"IB Gateway is not ready ({reason})")

    def _current_session(self):
        session = self._supervisor.session
        if session is None:
            raise GatewayUnavailable("IB Gateway connection was lost before the call started")
        return session

    def _submit(self, on_loop: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        try:
            return self._loop_thread.submit(on_loop, timeout_s)
        except RequestError as exc:
            raise IBError(exc.code, exc.message, exc.reqId) from exc
        except ConnectionError as exc:
            raise GatewayUnavailable(f"IB Gateway connection lost: {exc}") from exc


def _report_supervisor_end(future) -> None:
    # the supervisor only ends by cancellation; anything else leaves the worker without a gateway
    if not future.cancelled() and future.exception() is not None:
        log.error("IB connection supervisor failed; the gateway stays unavailable", exc_info=future.exception())
