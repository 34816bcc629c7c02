"""End-to-end fixtures: the simulator and gunicorn as subprocesses on free loopback ports, and the service's store:
a seeded SQLite file, or a project on Google's Firestore emulator (`store_backend`).

A module runs on both backends with `pytestmark = BOTH_BACKENDS`; the default is SQLite.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lib.seed import seed
from lib.trading.market_calendar import session_close, trading_date
from lib.store.sqlite import SqliteStore
from tests.support.service_process import ServiceProcess
from tests.support.simulator_process import SimulatorProcess

ACCOUNT = "DU1234567"
BACKENDS = ["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)]
BOTH_BACKENDS = pytest.mark.parametrize("store_backend", BACKENDS)


class ServiceStore:
    """Where the service under test keeps its documents: an open handle for the test, and the environment that
    points gunicorn at the same store."""

    def __init__(self, backend: str, store, env: dict[str, str]):
        self.backend = backend
        self.store = store
        self.env = env

    def seed(self, **overrides) -> None:
        """Write the local paper config (as `make run` does), with top-level keys overridden."""
        seed(self.store, ACCOUNT)
        if overrides:
            self.store.set("config/paper", overrides, merge=True)


@pytest.fixture
def store_backend() -> str:
    """The backend of the service's store; BOTH_BACKENDS parametrizes it."""
    return "sqlite"


@pytest.fixture
def service_store(store_backend, tmp_path, request) -> ServiceStore:
    if store_backend == "firestore":
        project = request.getfixturevalue("firestore_project")
        emulator = request.getfixturevalue("firestore_emulator")
        store = request.getfixturevalue("open_firestore")()
        return ServiceStore("firestore", store, {"STORE_BACKEND": "firestore", "PROJECT_ID": project,
                                                 "FIRESTORE_EMULATOR_HOST": emulator.address})
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(str(path))
    request.addfinalizer(store.close)
    return ServiceStore("sqlite", store, {"STORE_BACKEND": "sqlite", "STORE_PATH": str(path)})


@pytest.fixture
def simulator_defaults(tmp_path) -> dict:
    """End-to-end simulators keep their state in a file, so tests can restart them."""
    return {"seed": 7, "account": ACCOUNT, "state_path": tmp_path / "simulator-state.json"}


@pytest.fixture
def start_service(service_store, tmp_path, request):
    """Factory for gunicorn serving main:app against a simulator and `service_store`, stopped after the test.

    The first call seeds the store's config (with `config` overrides); later ones start more services on it, each
    with a clientId pool of its own (IB_CLIENT_ID_BASE 51, 101, ...), as two deployments on one account need.
    """
    started = []

    def start(simulator: SimulatorProcess, *, config: dict | None = None, log_name: str = "service.log",
              **options) -> ServiceProcess:
        if not started:
            service_store.seed(**(config or {}))
        pool = {"IB_CLIENT_ID_BASE": str(1 + 50 * len(started))}
        service = ServiceProcess(ib_port=simulator.port, store_path=tmp_path / "store.sqlite3",
                                 log_path=tmp_path / log_name,
                                 **{**options, "env": {**pool, **service_store.env, **options.get("env", {})}})
        started.append(service)
        request.addfinalizer(service.stop)
        service.start()
        service.wait_ready()
        return service

    return start


class Trading:
    """A simulator, the service in front of it, and the service's store, for allocation tests."""

    def __init__(self, simulator: SimulatorProcess, service: ServiceProcess, service_store: ServiceStore,
                 start_service):
        self.simulator = simulator
        self.service = service
        self.store = service_store.store
        self.backend = service_store.backend
        self._start_service = start_service

    def another_service(self, **options) -> ServiceProcess:
        """A second gunicorn on the same store and gateway (its workers are certainly other processes)."""
        return self._start_service(self.simulator, log_name="second-service.log", **options)

    def step_into_eod_window(self) -> None:
        """Move the simulator's clock to 15 minutes before today's close (inside eod-check's window) unless it is
        already later in the day."""
        now = datetime.fromisoformat(self.simulator.state()["clock"]["now"])
        close = session_close(trading_date(now))
        target = close - timedelta(minutes=15) if close is not None else now
        if target > now:
            self.simulator.admin("POST", "/clock/step", {"seconds": (target - now).total_seconds()})

    def post(self, intent: str, body: dict | None = None) -> tuple[int, dict]:
        return self.service.request("POST", f"/{intent}", body or {})

    def allocate(self, **body) -> dict:
        status, result = self.post("allocation", body)
        assert status == 200, result
        return result

    def holdings(self, strategy: str) -> dict[int, int]:
        return {int(c): q for c, q in (self.store.get(f"positions/paper/holdings/{strategy}") or {}).items()}

    def open_order_records(self) -> list[dict]:
        return [doc.data for doc in self.store.query("positions/paper/openOrders")]

    def activity(self, intent: str) -> list[dict]:
        return [doc.data for doc in self.store.query("activity", where=[("intent", "==", intent)],
                                                     order_by=[("startedAt", "ASCENDING")])]

    def broker_positions(self) -> dict[int, float]:
        return {p["con_id"]: p["quantity"] for p in self.simulator.state()["positions"] if p["quantity"]}

    def broker_orders(self) -> list[dict]:
        state = self.simulator.state()
        return state["open_orders"] + state["completed_orders"]

    def restart_simulator(self) -> None:
        """Restart the simulator and wait until the service's (single) worker is back on a new connection."""
        assert self.service.workers == 1, "reconnects are counted per worker; restart with one worker"
        before = self.service.reconnects()
        self.simulator.restart()
        self.service.wait_reconnected(before)

    def wait_filled(self, quantities: dict[int, float], timeout_s: float = 10) -> None:
        from tests.support.simulator_process import wait_until

        wait_until(lambda: self.broker_positions() == quantities, timeout_s=timeout_s,
                   what=f"broker positions {quantities}")


@pytest.fixture
def trading(start_simulator, start_service, service_store):
    """Factory: simulator + service (2 workers) + an open handle on the service's store."""

    def start(*, config: dict | None = None, simulator_options: dict | None = None, **service_options) -> Trading:
        simulator = start_simulator(**(simulator_options or {}))
        service = start_service(simulator, config=config, **service_options)
        return Trading(simulator, service, service_store, start_service)

    return start
