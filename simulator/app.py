"""Composition of the paper gateway: its settings, and the Simulator that wires engine, gateway and admin API."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from simulator.admin import start_admin_server
from simulator.controls import Controls
from simulator.engine import trading_hours
from simulator.engine.state import load_state, save_state
from simulator.engine.world import World
from simulator.gateway.runtime import Gateway

log = logging.getLogger(__name__)

# where a clock started inside the last session starts: 10:00 New York, half an hour into US regular hours
INTO_SESSION = timedelta(minutes=30)


@dataclass(frozen=True)
class SimulatorConfig:
    """Settings of one paper gateway.

    Parameters:
        host, port: where the TWS API server listens (port 0 = a free port).
        admin_port: the JSON admin server's port (None = no admin server, 0 = a free port).
        seed: seed of the deterministic price paths.
        state_path: JSON file that keeps the account across restarts (None = in memory only).
        account, base_currency, cash: the paper account.
        now: start of a frozen simulated clock (None = real time).
        fill_delay_ms: time between an order's acceptance (or a partial fill) and its next fill.
        max_messages_per_s: messages a client may send per second before IB's error 100 (0 = no limit).
        execution_days: days of executions and completed orders reported (TWS's Trade Log setting; 1 = today).
        account_update_s: interval of account value, portfolio and summary updates (IB: every three minutes).
        fills: "auto" (orders fill on timers) or "step" (only on POST /match and /clock/step, reproducibly).
    """

    host: str = "127.0.0.1"
    port: int = 4002
    admin_port: int | None = None
    seed: int = 1
    state_path: str | None = None
    account: str = "DU1234567"
    base_currency: str = "USD"
    cash: float = 1_000_000.0
    now: datetime | None = None
    start_in_session: bool = False
    fill_delay_ms: float = 5.0
    max_messages_per_s: float = 50.0
    execution_days: int = 1
    account_update_s: float = 180.0
    fills: str = "auto"


class Simulator:
    """The paper gateway: the engine's world, the TWS API gateway and the admin API on one loop.

    Parameters:
        config: a SimulatorConfig.

    Attributes:
        world: the engine objects; gateway: the TWS API side; controls: what the admin API and tests call.
        port, admin_port: the bound ports, once started.
    """

    def __init__(self, config: SimulatorConfig):
        self.config = config
        start, running = _clock_start(config)
        self.world = World(seed=config.seed, account=config.account, base_currency=config.base_currency,
                           cash=config.cash, now=start, clock_running=running)
        self.gateway = Gateway(self.world, fill_delay_ms=config.fill_delay_ms, save_state=self.save_state,
                               max_messages_per_s=config.max_messages_per_s,
                               execution_days=config.execution_days, account_update_s=config.account_update_s)
        self.controls = Controls(self.world, self.gateway, seed=config.seed, fill_delay_ms=config.fill_delay_ms,
                                 state_path=config.state_path)
        self.port: int | None = None
        self.admin_port: int | None = None
        self._admin_server: asyncio.Server | None = None

    async def start(self) -> None:
        """Load the state file if any, then serve the TWS API (and the admin API when configured)."""
        if self.config.state_path and load_state(self.world, self.config.state_path):
            log.info("loaded state from %s", self.config.state_path)
        self.gateway.set_fill_mode(self.config.fills)
        self.port = await self.gateway.start(self.config.host, self.config.port)
        if self.config.admin_port is not None:
            self._admin_server = await start_admin_server(self.controls, self.config.host, self.config.admin_port)
            self.admin_port = self._admin_server.sockets[0].getsockname()[1]
        self.gateway.start_watching()
        log.info("paper gateway serving on %s:%s", self.config.host, self.port)

    async def stop(self) -> None:
        """Close the servers and every client connection, then flush the state."""
        await self.gateway.stop_watching()
        if self._admin_server is not None:
            self._admin_server.close()
            await self._admin_server.wait_closed()
        await self.gateway.stop()
        self.save_state()

    def save_state(self) -> None:
        """Write the state file, when a state path is configured."""
        if self.config.state_path:
            save_state(self.world, self.config.state_path)


def _clock_start(config: SimulatorConfig) -> tuple[datetime | None, bool]:
    """(start, running) of the simulated clock the config asks for."""
    if config.now is not None or not config.start_in_session:
        return config.now, False
    real_now = datetime.now(timezone.utc)
    start = trading_hours.inside_last_session(trading_hours.STK_RTH, real_now, INTO_SESSION)
    return (None, False) if start == real_now else (start, True)
