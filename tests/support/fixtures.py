"""Fixtures every test package shares (a pytest plugin named in tests/conftest.py): private simulators and the
tests' own ib_async clients, each stopped after its test."""
from __future__ import annotations

import itertools

import pytest
from tests.support.iblib import IB

from tests.support.clients import next_client_id
from tests.support.clock import NOW
from tests.support.simulator_process import SimulatorProcess

CONNECT_TIMEOUT_S = 10


@pytest.fixture
def simulator_defaults() -> dict:
    """Options every `start_simulator` call of a package starts from; a package's conftest may override it."""
    return {}


@pytest.fixture
def start_simulator(tmp_path, request, simulator_defaults):
    """Factory for a private simulator (frozen clock at NOW unless told otherwise), stopped after the test.

    Call with launch=True to start without waiting (then call .wait_listening()), to start several in parallel.
    """
    counter = itertools.count()

    def start(*, launch: bool = False, **options) -> SimulatorProcess:
        options = {"now": NOW, "fill_delay_ms": 2, "log_path": tmp_path / f"simulator-{next(counter)}.log",
                   **simulator_defaults, **options}
        process = SimulatorProcess(**options)
        request.addfinalizer(process.stop)
        return process.launch() if launch else process.start()

    return start


@pytest.fixture
def connect(request):
    """Factory for ib_async clients of a simulator (a fresh clientId unless given), disconnected after the test."""

    def open_client(process: SimulatorProcess, client_id: int | None = None, **options) -> IB:
        ib = IB()
        request.addfinalizer(ib.disconnect)
        ib.connect(process.host, process.port, clientId=next_client_id() if client_id is None else client_id,
                   timeout=CONNECT_TIMEOUT_S, **options)
        return ib

    return open_client
