"""The supervision: display, then gateway until its API answers, then gunicorn; a gateway that exits is started again
with backoff; SIGTERM stops gunicorn first (its requests may still need the gateway), then the gateway and display."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Callable

from deploy.entrypoint.children import Child
from deploy.entrypoint.gateway_events import GatewayEvents
from deploy.entrypoint.handshake import HandshakeFailed, api_handshake
from deploy.entrypoint.restarts import RestartPolicy
from deploy.entrypoint.settings import EntrypointSettings

log = logging.getLogger("deploy.entrypoint")

EXIT_OK, EXIT_FAILED = 0, 1
POLL_S = 0.05
HANDSHAKE_RETRY_S = 0.5
HANDSHAKE_TIMEOUT_S = 2.0


class Supervisor:
    """Runs the container's processes until SIGTERM or a failure it cannot repair.

    Args:
        settings: the entrypoint's settings.
        display: the virtual display server.
        new_gateway: builds a fresh gateway Child for each (re)start.
        gunicorn: the service.
        events: records the gateway giving up (and, from its lines, a login waiting for 2FA) as events.
    """

    def __init__(self, settings: EntrypointSettings, *, display: Child, new_gateway: Callable[[], Child],
                 gunicorn: Child, events: GatewayEvents | None = None):
        self.settings = settings
        self.display = display
        self.new_gateway = new_gateway
        self.gateway: Child | None = None
        self.gunicorn = gunicorn
        self.events = events
        self.restarts = RestartPolicy(initial_s=settings.restart_backoff_s, max_s=settings.restart_backoff_max_s,
                                      max_failures=settings.max_gateway_failures, stable_s=settings.gateway_stable_s)
        self._stopping = asyncio.Event()
        self._background: list[asyncio.Task] = []

    async def run(self) -> int:
        """Start everything, supervise, stop everything; returns the process exit code."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._request_stop, signum)
        started = time.monotonic()
        try:
            code = await self._run()
        except OSError as exc:
            log.error("a child could not be started: %s", exc, extra={"fields": {"event": "childFailed"}})
            code = EXIT_FAILED
        finally:
            self._stopping.set()
            await self._stop_all()
            if self.events is not None:
                await self.events.flush()
        log.info("entrypoint stopped (exit code %s, %.1f s after start)", code, time.monotonic() - started,
                 extra={"fields": {"event": "entrypointStopped", "exitCode": code}})
        return code

    def _request_stop(self, signum: int) -> None:
        if not self._stopping.is_set():
            log.info("%s received: stopping gunicorn, then the gateway and the display", signal.Signals(signum).name,
                     extra={"fields": {"event": "stopRequested"}})
            self._stopping.set()

    async def _stop_requested_within(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def _run(self) -> int:
        if not await self._start_display():
            return EXIT_OK if self._stopping.is_set() else EXIT_FAILED
        outcome = await self._first_gateway_ready()
        if outcome != "ready":
            return EXIT_OK if outcome == "stop" else EXIT_FAILED
        await self.gunicorn.start()
        return await self._supervise()

    async def _start_display(self) -> bool:
        await self.display.start()
        socket_path = self.settings.display_socket
        deadline = time.monotonic() + self.settings.display_timeout_s
        while not os.path.exists(socket_path):
            if not self.display.running:
                log.error("the display exited with code %s before creating %s", self.display.process.returncode,
                          socket_path, extra={"fields": {"event": "displayFailed"}})
                return False
            if time.monotonic() > deadline:
                log.error("the display did not create %s within %.0f s", socket_path, self.settings.display_timeout_s,
                          extra={"fields": {"event": "displayFailed"}})
                return False
            if await self._stop_requested_within(POLL_S):
                return False
        log.info("display %s ready", self.settings.display, extra={"fields": {"event": "displayReady"}})
        return True

    async def _start_gateway(self) -> None:
        self.gateway = self.new_gateway()
        await self.gateway.start()

    async def _first_gateway_ready(self) -> str:
        """Start the gateway (again, after early exits) until its API answers: "ready", "stop" or "failed"."""
        deadline = time.monotonic() + self.settings.gateway_ready_timeout_s
        await self._start_gateway()
        while True:
            outcome = await self._wait_for_api(deadline)
            if outcome in ("ready", "stop"):
                return outcome
            if outcome == "timeout":
                log.error("the gateway did not complete a TWS API handshake on port %s within %.0f s of the first "
                          "start (a login waiting for 2FA shows in the gateway's lines above)", self.settings.ib_port,
                          self.settings.gateway_ready_timeout_s, extra={"fields": {"event": "gatewayNotReady"}})
                self._gave_up("no TWS API handshake within the first start's timeout", None)
                return "failed"
            if not await self._restart_gateway():
                return "stop" if self._stopping.is_set() else "failed"

    async def _wait_for_api(self, deadline: float | None) -> str:
        """Poll the API port until the handshake completes: "ready", "exited", "stop" or "timeout"."""
        gateway = self.gateway
        while True:
            if self._stopping.is_set():
                return "stop"
            if not gateway.running:
                return "exited"
            try:
                version = await api_handshake("127.0.0.1", self.settings.ib_port, timeout_s=HANDSHAKE_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError, HandshakeFailed):
                if deadline is not None and time.monotonic() > deadline:
                    return "timeout"
                await self._stop_requested_within(HANDSHAKE_RETRY_S)
                continue
            log.info("gateway API ready on port %s (server version %s, %.1f s after start)", self.settings.ib_port,
                     version, gateway.uptime_s(),
                     extra={"fields": {"event": "gatewayApiReady", "serverVersion": version}})
            return "ready"

    async def _restart_gateway(self) -> bool:
        """After the gateway exited: wait out the backoff and start it again; False to give up or on stop."""
        gateway = self.gateway
        code = await gateway.wait()
        gateway.kill_leftovers()
        uptime_s = gateway.uptime_s()
        delay_s = self.restarts.after_exit(uptime_s)
        if delay_s is None:
            log.error("the gateway exited with code %s after %.0f s, %d short runs in a row: giving up so that Cloud "
                      "Run replaces the instance", code, uptime_s, self.restarts.failures,
                      extra={"fields": {"event": "gatewayGaveUp", "exitCode": code}})
            self._gave_up(f"{self.restarts.failures} short runs in a row", code)
            return False
        log.warning("the gateway exited with code %s after %.0f s; restarting it in %.1f s", code, uptime_s, delay_s,
                    extra={"fields": {"event": "gatewayExited", "exitCode": code,
                                      "consecutiveFailures": self.restarts.failures}})
        if await self._stop_requested_within(delay_s):
            return False
        await self._start_gateway()
        return True

    def _gave_up(self, reason: str, exit_code: int | None) -> None:
        if self.events is not None:
            self.events.gave_up(reason, exit_code)

    async def _supervise(self) -> int:
        display_exit = asyncio.create_task(self.display.wait())
        gunicorn_exit = asyncio.create_task(self.gunicorn.wait())
        stop = asyncio.create_task(self._stopping.wait())
        self._background += [display_exit, gunicorn_exit, stop]
        while True:
            gateway_exit = asyncio.create_task(self.gateway.wait())
            self._background.append(gateway_exit)
            await asyncio.wait({display_exit, gunicorn_exit, stop, gateway_exit}, return_when=asyncio.FIRST_COMPLETED)
            if stop.done():
                return EXIT_OK
            for task, name in ((display_exit, "the display"), (gunicorn_exit, "gunicorn")):
                if task.done():
                    log.error("%s exited with code %s: stopping the container", name, task.result(),
                              extra={"fields": {"event": "childFailed"}})
                    return EXIT_FAILED
            if not await self._restart_gateway():
                return EXIT_OK if self._stopping.is_set() else EXIT_FAILED
            self._background.append(asyncio.create_task(self._wait_for_api(None)))

    async def _stop_all(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.gunicorn.stop(self.settings.gunicorn_stop_s)
        stops = [child.stop(self.settings.child_stop_s) for child in (self.gateway, self.display) if child is not None]
        await asyncio.gather(*stops)
