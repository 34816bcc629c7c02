"""A private asyncio event loop on its own thread, and blocking calls into it from other threads."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Awaitable, Callable, TypeVar

from lib.errors import GatewayTimeout, GatewayUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# Tasks still running when the loop stops get this long to finish their cancellation.
CANCEL_GRACE_S = 1.0


class LoopThread:
    """One asyncio event loop running forever on a dedicated daemon thread.

    Other threads hand it coroutines with `submit` (blocking, with a timeout) or `spawn` (fire and forget).
    It cannot be restarted once stopped.

    Parameters:
        name: the thread's name (shows in logs and thread dumps).
    """

    def __init__(self, name: str):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop_ready = threading.Event()
        self._lock = threading.Lock()
        self._stopping = False
        self._pending: set[concurrent.futures.Future] = set()

    @property
    def running(self) -> bool:
        """True from start() until stop() begins."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.get_ident() == self._thread.ident

    def start(self) -> None:
        """Start the thread and its loop; returns once the loop exists.

        Raises:
            RuntimeError: already started, or stopped.
        """
        with self._lock:
            if self._thread is not None or self._stopping:
                raise RuntimeError(f"{self.name} was already started")
            self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
            self._thread.start()
        self._loop_ready.wait()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        # ib_async finds its loop through the thread's current event loop.
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._loop_ready.set()
        try:
            loop.run_forever()
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.wait(leftovers, timeout=CANCEL_GRACE_S))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def spawn(self, coro_fn: Callable[[], Awaitable[T]]) -> concurrent.futures.Future:
        """Schedule `coro_fn()` on the loop without waiting; returns its future.

        Raises:
            GatewayUnavailable: the loop is not running.
        """
        with self._lock:
            if not self.running:
                raise GatewayUnavailable(f"{self.name} is not running")
            future = asyncio.run_coroutine_threadsafe(_await(coro_fn), self._loop)
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def submit(self, coro_fn: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        """Run `coro_fn()` on the loop and wait for its result; its exceptions propagate unchanged.

        `coro_fn` is called on the loop thread, so whatever it touches is touched there only.

        Raises:
            GatewayTimeout: not done within `timeout_s` (the work is then cancelled on the loop).
            GatewayUnavailable: the loop is not running, or stopped before the work finished.
            RuntimeError: called from the loop thread itself (it would wait for itself forever).
        """
        if self.in_loop_thread():
            raise RuntimeError(f"blocking call into {self.name} from its own loop thread")
        if timeout_s <= 0:
            raise GatewayTimeout(f"no time left for work on {self.name}")
        future = self.spawn(coro_fn)
        done, _ = concurrent.futures.wait([future], timeout=timeout_s)
        # cancel() fails when the work finished in the meantime; its result is then returned after all
        if not done and future.cancel():
            raise GatewayTimeout(f"work on {self.name} did not finish within {timeout_s:g} s")
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise GatewayUnavailable(f"{self.name} stopped before the work finished") from None

    def stop(self, timeout_s: float) -> bool:
        """Stop the loop (tasks still running are cancelled) and join the thread; idempotent.

        Returns whether the thread ended within `timeout_s`.
        """
        if self.in_loop_thread():
            raise RuntimeError(f"{self.name} cannot be stopped from its own loop thread")
        with self._lock:
            self._stopping = True
            thread = self._thread
        if thread is None:
            return True
        if thread.is_alive():
            try:
                self._loop.call_soon_threadsafe(self._loop.stop)
            except RuntimeError:  # the loop closed in the meantime
                pass
            thread.join(timeout_s)
        with self._lock:
            orphans, self._pending = self._pending, set()
        # work scheduled but never started on the stopped loop: its callers must not wait for their timeout
        for future in orphans:
            future.cancel()
        if thread.is_alive():
            log.warning("%s did not stop within %g s", self.name, timeout_s)
            return False
        return True


async def _await(coro_fn: Callable[[], Awaitable[T]]) -> T:
    return await coro_fn()
