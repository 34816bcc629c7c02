"""Composition of the paper gateway: config, the Simulator with its control methods, and a thread runner."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import inspect
import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from simulator.admin import start_admin_server
from simulator.engine.broker import AccountChanged, ExecutionAdded, OrderChanged, OrderRejected
from simulator.engine.world import World
from simulator.gateway.handlers_account import refresh_account, take_snapshot
from simulator.gateway.handlers_market import refresh_tickers
from simulator.gateway.handlers_orders import execution_messages, open_order_messages, order_view
from simulator.gateway.server import GatewayServer

log = logging.getLogger(__name__)

STATE_FORMAT = 1
WATCH_INTERVAL_S = 0.25
ACCOUNT_REFRESH_INTERVAL_S = 1.0
THREAD_TIMEOUT_S = 30.0


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
    fill_delay_ms: float = 5.0


def to_jsonable(value):
    """Dataclasses, datetimes and containers as plain JSON values (ContractSpecs shortened)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "con_id") and hasattr(value, "trading_hours"):
            return {"con_id": value.con_id, "symbol": value.symbol, "sec_type": value.sec_type,
                    "local_symbol": value.local_symbol, "exchange": value.exchange,
                    "currency": value.currency}
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return None
    return value


@contextlib.contextmanager
def _isolated(session, what: str):
    """Log and contain a failure while serving one session, so the other sessions are still served."""
    try:
        yield
    except Exception:
        log.exception("%s for clientId %s failed", what, session.client_id)


def _fills_before_status(pending: list[tuple]) -> list[tuple]:
    """Broker events in emission order, except that each execution moves ahead of the first status change
    of its order that already counts it, so a client sees the fill before the order turns (partly) Filled."""
    result = list(pending)
    for item in [p for p in pending if p[0] == "execution"]:
        execution = item[2]
        current = next(i for i, p in enumerate(result) if p is item)
        target = next((i for i, (kind, client_id, payload) in enumerate(result)
                       if kind == "order" and client_id == execution.client_id
                       and payload[1].order_id == execution.order_id
                       and payload[1].filled >= execution.cum_qty - 1e-9), None)
        if target is not None and target < current:
            result.insert(target, result.pop(current))
    return result


class Simulator:
    """The paper gateway: the engine's world, the TWS server and the admin server on one loop.

    Parameters:
        config: a SimulatorConfig.

    Control methods (set_price, step_clock, ...) run on the loop and return small JSON-able dicts; they raise
    KeyError/ValueError with a clear text on bad input.
    """

    def __init__(self, config: SimulatorConfig):
        self.config = config
        self.world = World(seed=config.seed, account=config.account, base_currency=config.base_currency,
                           cash=config.cash, now=config.now)
        self.world.broker.listeners.append(self._on_broker_event)
        self.server = GatewayServer(self)
        self.latency_ms = 0.0
        self.port: int | None = None
        self.admin_port: int | None = None
        self._admin_server: asyncio.Server | None = None
        self._pending: list[tuple] = []
        self._account_dirty = False
        self._delivered = 0
        self._match_handle: asyncio.TimerHandle | None = None
        self._watch_task: asyncio.Task | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the state file if any, then serve the TWS API (and the admin API when configured)."""
        self._load_state()
        self.port = await self.server.start(self.config.host, self.config.port)
        if self.config.admin_port is not None:
            self._admin_server = await start_admin_server(self, self.config.host, self.config.admin_port)
            self.admin_port = self._admin_server.sockets[0].getsockname()[1]
        self._watch_task = asyncio.create_task(self._watch())
        log.info("paper gateway serving on %s:%s", self.config.host, self.port)
        if self.world.broker.open_orders(None):
            self.schedule_match()

    async def stop(self) -> None:
        """Close the servers and every client connection, then flush the state."""
        if self._watch_task is not None:
            self._watch_task.cancel()
            try:
                await self._watch_task
            except asyncio.CancelledError:
                pass
        if self._match_handle is not None:
            self._match_handle.cancel()
            self._match_handle = None
        if self._admin_server is not None:
            self._admin_server.close()
            await self._admin_server.wait_closed()
        await self.server.stop()
        self.save_state()

    # --- what sessions use (gateway.host.Host) ------------------------------------------------------

    def claim(self, session, client_id: int) -> bool:
        return self.server.claim(session, client_id)

    def release(self, session) -> None:
        self.server.release(session)

    # --- broker events ------------------------------------------------------------------------------

    def _on_broker_event(self, event) -> None:
        # order records change as the broker works: snapshot them now, deliver after the broker call
        if isinstance(event, ExecutionAdded):
            self._pending.append(("execution", event.execution.client_id, event.execution))
        elif isinstance(event, OrderChanged):
            self._pending.append(("order", event.order.client_id, (event.order, order_view(event.order))))
        elif isinstance(event, OrderRejected):
            rejection = (event.order.order_id, event.code, event.text)
            self._pending.append(("reject", event.order.client_id, rejection))
        elif isinstance(event, AccountChanged):
            self._account_dirty = True
        else:
            log.warning("unrouted broker event %r", event)

    def broker_call(self, method, *args, **kwargs):
        """Run a broker method, then deliver the events it emitted and save the state."""
        try:
            return method(*args, **kwargs)
        finally:
            self._delivered = self._deliver()

    def _targets(self, client_id: int) -> list:
        sessions = []
        owner = self.server.session_for(client_id)
        if owner is not None:
            sessions.append(owner)
        # clientId 0 with auto-binding acts as the master client and hears every order
        sessions += [s for s in self.server.sessions() if s.auto_open_orders and s is not owner]
        return sessions

    def _deliver(self) -> int:
        """Send pending order/execution events to the clients concerned; returns how many there were."""
        pending, self._pending = self._pending, []
        mutated = bool(pending) or self._account_dirty
        for kind, client_id, payload in _fills_before_status(pending):
            for session in self._targets(client_id):
                with _isolated(session, f"delivering {kind}"):
                    if kind == "execution":
                        session.send(*execution_messages(session, -1, payload))
                    elif kind == "order":
                        record, view = payload
                        session.send(*open_order_messages(session, record, view))
                    else:
                        order_id, code, text = payload
                        session.error(order_id, code, text)
        if mutated:
            self._account_dirty = False
            self._refresh_accounts()
            self.save_state()
        return len(pending)

    def _refresh_accounts(self) -> None:
        sessions = self.server.sessions()
        if not sessions:
            return
        snap = take_snapshot(self.world)
        for session in sessions:
            with _isolated(session, "refreshing account views"):
                refresh_account(session, snap)

    # --- fills and market watching ------------------------------------------------------------------

    def schedule_match(self, delay_ms: float | None = None) -> None:
        """Run the broker's matching after `delay_ms` (default fill_delay_ms) unless a run is already due."""
        if self._match_handle is not None:
            return
        delay_s = (self.config.fill_delay_ms if delay_ms is None else delay_ms) / 1000.0
        self._match_handle = asyncio.get_running_loop().call_later(delay_s, self._run_match)

    def _run_match(self) -> None:
        self._match_handle = None
        work_left = self.broker_call(self.world.broker.match)
        if work_left and self._delivered:
            # progress was made (a fill or a piece of one): keep going at the fill pace
            self.schedule_match()

    async def _watch(self) -> None:
        """Stream quote changes, refresh account views and re-check resting orders as prices move."""
        loop = asyncio.get_running_loop()
        last_version = getattr(self.world.market, "version", None)
        last_account_refresh = loop.time()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            try:
                for session in self.server.sessions():
                    with _isolated(session, "streaming quotes"):
                        refresh_tickers(session)
                version = getattr(self.world.market, "version", None)
                now = loop.time()
                if version != last_version or now - last_account_refresh >= ACCOUNT_REFRESH_INTERVAL_S:
                    last_version = version
                    last_account_refresh = now
                    if self.world.broker.open_orders(None):
                        self.schedule_match(0)
                    self._refresh_accounts()
            except Exception:  # the watcher must survive a bad tick
                log.exception("market watch failed")

    def _after_market_change(self) -> None:
        for session in self.server.sessions():
            with _isolated(session, "streaming quotes"):
                refresh_tickers(session)
        self._refresh_accounts()
        self.save_state()
        if self.world.broker.open_orders(None):
            self.schedule_match(0)

    # --- control methods ----------------------------------------------------------------------------

    def _spec(self, symbol: str | int):
        if isinstance(symbol, str) and symbol.strip().isdigit():
            symbol = int(symbol.strip())
        return self.world.catalog.resolve_symbol(symbol)

    def _price_report(self, spec) -> dict:
        return {"symbol": spec.local_symbol, "con_id": spec.con_id, "price": self.world.market.price(spec.con_id)}

    def set_price(self, symbol: str | int, price: float) -> dict:
        price = float(price)
        if not price > 0:
            raise ValueError(f"price must be positive, got {price}")
        spec = self._spec(symbol)
        self.world.market.set_price(spec.con_id, price)
        self._after_market_change()
        return self._price_report(spec)

    def move_price(self, symbol: str | int, pct: float) -> dict:
        pct = float(pct)
        if not pct > -100:
            raise ValueError(f"pct must be above -100, got {pct}")
        spec = self._spec(symbol)
        self.world.market.move_price(spec.con_id, pct)
        self._after_market_change()
        return self._price_report(spec)

    def pin_history(self, symbol: str | int, closes: list[float]) -> dict:
        values = [float(c) for c in closes]
        if not values or any(not c > 0 for c in values):
            raise ValueError("closes must be a non-empty list of positive prices")
        spec = self._spec(symbol)
        self.world.market.pin_history(spec.con_id, values)
        self._after_market_change()
        return {**self._price_report(spec), "pinned": len(values)}

    def step_clock(self, seconds: float) -> dict:
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got {seconds} s")
        self.world.clock.step(seconds)
        self._after_market_change()
        return {"now": self.world.clock.now().isoformat(), "offset_s": self.world.clock.offset_s}

    def set_partial_fills(self, pieces: int) -> dict:
        if isinstance(pieces, bool) or int(pieces) != pieces or int(pieces) < 1:
            raise ValueError(f"pieces must be an integer >= 1 (1 = off), got {pieces!r}")
        self.world.broker.partial_fill_pieces = int(pieces)
        return {"partial_fill_pieces": self.world.broker.partial_fill_pieces}

    def reject_next_order(self, code: int = 201, text: str | None = None) -> dict:
        code = int(code)
        if text is None:
            self.world.broker.reject_next(code)
        else:
            self.world.broker.reject_next(code, str(text))
        return {"reject_next": {"code": code, "text": text}}

    def set_latency(self, ms: float) -> dict:
        ms = float(ms)
        if not 0 <= ms <= 60_000:
            raise ValueError(f"latency must be between 0 and 60000 ms, got {ms}")
        self.latency_ms = ms
        return {"latency_ms": ms}

    async def drop_connections(self) -> dict:
        return {"dropped": self.server.drop_all()}

    def snapshot(self) -> dict:
        broker = self.world.broker
        snap = take_snapshot(self.world)
        return to_jsonable({
            "clock": {"now": self.world.clock.now(), "offset_s": self.world.clock.offset_s,
                      "frozen": self.config.now is not None},
            "account": {"account": snap.account, "base_currency": snap.base_currency,
                        "values": [{"tag": t, "value": v, "currency": c} for t, v, c in snap.values]},
            "cash": broker.cash(),
            "positions": list(snap.positions),
            "portfolio": list(snap.portfolio),
            "open_orders": broker.open_orders(None),
            "completed_orders": broker.completed_orders(),
            "executions": broker.executions(),
            "sessions": [{"client_id": s.client_id, "peer": s.peer, "server_version": s.server_version}
                         for s in self.server.sessions()],
            "settings": {"seed": self.config.seed, "latency_ms": self.latency_ms,
                         "fill_delay_ms": self.config.fill_delay_ms,
                         "partial_fill_pieces": broker.partial_fill_pieces,
                         "state_path": self.config.state_path},
        })

    # --- persistence --------------------------------------------------------------------------------

    def save_state(self) -> None:
        """Write the state file atomically (temporary file + rename) when a state path is configured."""
        if not self.config.state_path:
            return
        path = Path(self.config.state_path)
        state = {"format": STATE_FORMAT, **self.world.to_state()}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(state, sort_keys=True))
        os.replace(tmp, path)

    def _load_state(self) -> None:
        if not self.config.state_path or not Path(self.config.state_path).exists():
            return
        state = json.loads(Path(self.config.state_path).read_text())
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{self.config.state_path}: unsupported state format {state.get('format')!r}")
        self.world.restore(state)
        log.info("loaded state from %s", self.config.state_path)


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
        """Run a Simulator control method on its loop and return its result (exceptions propagate)."""

        async def invoke():
            result = getattr(self.sim, method)(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(THREAD_TIMEOUT_S)
