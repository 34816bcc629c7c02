"""End-to-end fixtures: the simulator and gunicorn as subprocesses on free loopback ports, a seeded SQLite store."""
from __future__ import annotations

import pytest

from lib.seed import seed
from lib.store.sqlite import SqliteStore
from tests.support.service_process import ServiceProcess
from tests.support.simulator_process import SimulatorProcess

ACCOUNT = "DU1234567"

def seeded_store(path, **overrides) -> None:
    """Write the local paper config (as `make run` does), with top-level keys overridden."""
    store = SqliteStore(str(path))
    try:
        seed(store, ACCOUNT)
        if overrides:
            store.set("config/paper", overrides, merge=True)
    finally:
        store.close()


@pytest.fixture
def simulator_defaults(tmp_path) -> dict:
    """End-to-end simulators keep their state in a file, so tests can restart them."""
    return {"seed": 7, "account": ACCOUNT, "state_path": tmp_path / "simulator-state.json"}


@pytest.fixture
def start_service(tmp_path, request):
    """Factory for gunicorn serving main:app against a simulator, stopped after the test."""

    def start(simulator: SimulatorProcess, *, config: dict | None = None, **options) -> ServiceProcess:
        store_path = tmp_path / "store.sqlite3"
        seeded_store(store_path, **(config or {}))
        service = ServiceProcess(ib_port=simulator.port, store_path=store_path,
                                 log_path=tmp_path / "service.log", **options)
        request.addfinalizer(service.stop)
        service.start()
        service.wait_ready()
        return service

    return start


class Trading:
    """A simulator, the service in front of it, and the service's store file, for allocation tests."""

    def __init__(self, simulator: SimulatorProcess, service: ServiceProcess, store: SqliteStore):
        self.simulator = simulator
        self.service = service
        self.store = store

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
def trading(start_simulator, start_service, tmp_path, request):
    """Factory: simulator + service (2 workers) + an open handle on the service's SQLite store."""

    def start(*, config: dict | None = None, simulator_options: dict | None = None, **service_options) -> Trading:
        simulator = start_simulator(**(simulator_options or {}))
        service = start_service(simulator, config=config, **service_options)
        store = SqliteStore(str(tmp_path / "store.sqlite3"))
        request.addfinalizer(store.close)
        return Trading(simulator, service, store)

    return start
