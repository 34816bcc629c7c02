"""The running gateway: server and sessions, the broker calls they make, fill scheduling and the watch loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from simulator.engine.world import World
from simulator.gateway.connectivity import Connectivity
from simulator.gateway.fanout import Fanout, stream_quotes
from simulator.gateway.server import GatewayServer
from simulator.gateway.session import Session
from simulator.gateway.watch import REFRESH_INTERVAL_S, watch

log = logging.getLogger(__name__)


class Gateway:
    """The TWS API side of the simulator, and the Host (gateway.host) its sessions work with.

    Parameters:
        world: the engine objects.
        fill_delay_ms: time between an order's acceptance (or a partial fill) and its next fill.
        save_state: writes the state file; called after every change.
        max_messages_per_s: messages a client may send per second before error 100 (0 = no limit).
        execution_days: days of executions and completed orders reported (1 = since midnight, as IB Gateway).
        account_update_s: interval of account value, portfolio and summary updates (IB: three minutes).

    Attributes:
        latency_ms: delay added to every reply.
        connectivity: the link to IB's servers (lost and restored by the connectivity fault).
        fill_mode: "auto" (orders match on timers as they arrive and as prices move) or "step" (only match_now).
    """

    def __init__(self, world: World, *, fill_delay_ms: float, save_state: Callable[[], None],
                 max_messages_per_s: float, execution_days: int, account_update_s: float):
        self.world = world
        self.latency_ms = 0.0
        self.max_messages_per_s = max_messages_per_s
        self.execution_days = execution_days
        self._account_update_s = account_update_s
        self._next_account_push_s = 0.0
        self.save_state = save_state
        self._fill_delay_ms = fill_delay_ms
        self._server = GatewayServer(self)
        self._fanout = Fanout(world, self._server, save_state)
        self.connectivity = Connectivity(self._server, self._fanout)
        self.fill_mode = "auto"
        world.broker.listeners.append(self._fanout.on_broker_event)
        self._delivered = 0
        self._match_handle: asyncio.TimerHandle | None = None
        self._watch_task: asyncio.Task | None = None
        self._restart_task: asyncio.Task | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0 = a free port); returns the bound port."""
        return await self._server.start(host, port)

    def start_watching(self) -> None:
        """Start the watch loop, and the matching of orders a loaded state left working."""
        self._next_account_push_s = asyncio.get_running_loop().time() + self._account_update_s
        self._watch_task = asyncio.create_task(watch(
            self.world.market, self._streaming_sessions, self._on_tick,
            refresh_interval_s=min(REFRESH_INTERVAL_S, self._account_update_s)))
        if self.world.broker.has_work():
            self.schedule_match()

    async def stop_watching(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            try:
                await self._watch_task
            except asyncio.CancelledError:
                pass
        if self._match_handle is not None:
            self._match_handle.cancel()
            self._match_handle = None
        self.connectivity.cancel()

    async def stop(self) -> None:
        """Close the server and every client connection."""
        if self._restart_task is not None:
            self._restart_task.cancel()
            try:
                await self._restart_task
            except asyncio.CancelledError:
                pass
        await self._server.stop()

    def restart(self, seconds: float) -> None:
        """IB Gateway's daily restart: drop every connection and refuse new ones for `seconds`, then listen on
        the same port again (orders, positions and executions carry on). A restart under way is not restarted."""
        if self._restart_task is not None and not self._restart_task.done():
            return
        self._restart_task = asyncio.create_task(self._restart(seconds))

    async def _restart(self, seconds: float) -> None:
        log.info("restarting: the API port refuses connections for %.1f s", seconds)
        await self._server.pause()
        await asyncio.sleep(seconds)
        await self._server.resume()
        log.info("restarted: accepting connections again")

    # --- sessions -----------------------------------------------------------------------------------

    def claim(self, session: Session, client_id: int) -> bool:
        return self._server.claim(session, client_id)

    def release(self, session: Session) -> None:
        self._server.release(session)

    def sessions(self) -> list[Session]:
        """Sessions that started the API, in clientId order."""
        return self._server.sessions()

    def drop_all(self) -> int:
        """Abort every client connection; returns how many were dropped."""
        return self._server.drop_all()

    @property
    def connectivity_lost(self) -> bool:
        return self.connectivity.lost

    def silence(self, client_id: int, order_id: int) -> None:
        self._fanout.silence(client_id, order_id)

    def commission_withheld(self, exec_id: str) -> bool:
        return exec_id in self._fanout.withheld

    def _streaming_sessions(self) -> list[Session]:
        """Sessions that get quotes now: none while IB's servers are out of reach."""
        return [] if self.connectivity.lost else self._server.sessions()

    # --- broker calls and fills ---------------------------------------------------------------------

    def broker_call(self, method, *args, **kwargs):
        """Run a broker method, then deliver the events it emitted and save the state."""
        try:
            return method(*args, **kwargs)
        finally:
            self._delivered = self._fanout.deliver()

    def set_fill_mode(self, mode: str) -> None:
        """"step": matching runs only through match_now() (the clock is frozen where it is, so that prices only
        move with clock steps); "auto": on timers again. Raises ValueError for another mode."""
        if mode not in ("auto", "step"):
            raise ValueError(f"fill mode must be \"auto\" or \"step\", got {mode!r}")
        self.fill_mode = mode
        self.world.broker.deterministic = mode == "step"
        if mode == "step":
            self.world.clock.freeze()
            if self._match_handle is not None:
                self._match_handle.cancel()
                self._match_handle = None
        elif self.world.broker.has_work():
            self.schedule_match(0)

    def match_now(self, rounds: int = 1) -> None:
        """Run `rounds` rounds of matching at once (one execution per order and round)."""
        for _ in range(rounds):
            self.broker_call(self.world.broker.match)

    def schedule_match(self, delay_ms: float | None = None) -> None:
        """Run the broker's matching after `delay_ms` (default fill_delay_ms) unless a run is already due; in step
        mode matching waits for match_now()."""
        if self._match_handle is not None or self.fill_mode == "step":
            return
        delay_s = (self._fill_delay_ms if delay_ms is None else delay_ms) / 1000.0
        self._match_handle = asyncio.get_running_loop().call_later(delay_s, self._run_match)

    def _run_match(self) -> None:
        self._match_handle = None
        work_left = self.broker_call(self.world.broker.match)
        if work_left and self._delivered:
            # progress was made (a fill or a piece of one): keep going at the fill pace
            self.schedule_match()

    # --- market changes -----------------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self.world.broker.has_work():
            self.schedule_match(0)
        now_s = asyncio.get_running_loop().time()
        due = now_s >= self._next_account_push_s
        if due:
            # IB's fixed interval ("unless there is a position change this information is updated at a fixed
            # interval of three minutes", TWS API docs on reqAccountUpdates; likewise account summaries)
            self._next_account_push_s = now_s + self._account_update_s
        self._fanout.refresh_accounts(account_values=due)

    def after_market_change(self) -> None:
        """Bring every session and resting order up to date after a price or clock change made from outside
        (account values follow at the next interval, as a price move alone does not make IB push them)."""
        stream_quotes(self._streaming_sessions())
        self._fanout.refresh_accounts(account_values=False)
        self.save_state()
        if self.world.broker.has_work():
            self.schedule_match(0)
