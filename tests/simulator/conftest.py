"""Fixtures for the simulator's acceptance tests: simulator subprocesses and ib_insync clients connected to them."""

import itertools
from datetime import datetime, timezone

import pytest
from ib_insync import IB

from tests.support.simulator_process import SimulatorProcess

# a Tuesday, 10:30 in New York: US stock sessions are open
NOW = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)
SESSION_SEED = 11
CONNECT_TIMEOUT_S = 10

_client_ids = itertools.count(100)


@pytest.fixture(scope="session")
def simulator(tmp_path_factory, request):
    """One simulator shared by the tests that do not disturb each other (frozen clock at NOW)."""
    process = SimulatorProcess(seed=SESSION_SEED, now=NOW, fill_delay_ms=2,
                               log_path=tmp_path_factory.mktemp("simulator") / "simulator.log")
    request.addfinalizer(process.stop)
    return process.start()


@pytest.fixture
def start_simulator(tmp_path, request):
    """Factory for a private simulator (frozen clock at NOW unless told otherwise), stopped after the test.

    Call with launch=True to start without waiting (then call .wait_listening()), to start several in parallel.
    """
    counter = itertools.count()

    def start(*, launch: bool = False, **options) -> SimulatorProcess:
        options.setdefault("now", NOW)
        options.setdefault("fill_delay_ms", 2)
        options.setdefault("log_path", tmp_path / f"simulator-{next(counter)}.log")
        process = SimulatorProcess(**options)
        request.addfinalizer(process.stop)
        return process.launch() if launch else process.start()

    return start


@pytest.fixture
def connect(request):
    """Factory for ib_insync clients (a fresh clientId unless given), disconnected after the test."""

    def open_client(process: SimulatorProcess, client_id: int | None = None, **options) -> IB:
        ib = IB()
        request.addfinalizer(ib.disconnect)
        ib.connect(process.host, process.port, clientId=next(_client_ids) if client_id is None else client_id,
                   timeout=CONNECT_TIMEOUT_S, **options)
        return ib

    return open_client


@pytest.fixture(scope="session")
def sim_now() -> datetime:
    """The frozen clock start of every simulator these fixtures start."""
    return NOW


@pytest.fixture
def ib(simulator, connect) -> IB:
    """A client of the shared simulator with its own clientId."""
    return connect(simulator)
