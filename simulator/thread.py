"""SimulatorThread: a Simulator on its own event loop thread, for tests that run it in their own process."""

from __future__ import annotations

import asyncio
import inspect
import threading

from simulator.app import Simulator, SimulatorConfig

THREAD_TIMEOUT_S = 30.0


class SimulatorThread:
    """Runs a Simulator on its own loop thread, for tests in the same process.

    Parameters:
        config: the SimulatorConfig to run.
    """

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.sim: Simulator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        return self.sim.port

    @property
    def admin_port(self) -> int | None:
        return self.sim.admin_port

    def __enter__(self) -> "SimulatorThread":
        self._thread = threading.Thread(target=self._run, name="simulator-loop", daemon=True)
        self._thread.start()
        if not self._started.wait(THREAD_TIMEOUT_S):
            raise TimeoutError("the simulator did not start in time")
        if self._error is not None:
            self._thread.join(THREAD_TIMEOUT_S)
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.sim = Simulator(self.config)
            loop.run_until_complete(self.sim.start())
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def __exit__(self, *exc_info) -> None:
        if self._loop is None or self._error is not None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.sim.stop(), self._loop).result(THREAD_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(THREAD_TIMEOUT_S)

    def call(self, method: str, *args, **kwargs):
        """Run a control method (simulator.controls.Controls) on the loop; returns its result, raises its errors."""

        async def invoke():
            result = getattr(self.sim.controls, method)(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(THREAD_TIMEOUT_S)
