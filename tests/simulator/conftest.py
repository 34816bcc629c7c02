"""Fixtures for the simulator's acceptance tests: simulator subprocesses and ib_insync clients connected to them."""

from datetime import datetime

import pytest

from tests.support.iblib import IB
from tests.support.clock import NOW
from tests.support.simulator_process import SimulatorProcess

SESSION_SEED = 11


@pytest.fixture(scope="session")
def simulator(tmp_path_factory, request):
    """One simulator shared by the tests that do not disturb each other (frozen clock at NOW)."""
    process = SimulatorProcess(seed=SESSION_SEED, now=NOW, fill_delay_ms=2,
                               log_path=tmp_path_factory.mktemp("simulator") / "simulator.log")
    request.addfinalizer(process.stop)
    return process.start()


@pytest.fixture(scope="session")
def sim_now() -> datetime:
    """The frozen clock start of every simulator these fixtures start."""
    return NOW


@pytest.fixture
def ib(simulator, connect) -> IB:
    """A client of the shared simulator with its own clientId."""
    return connect(simulator)
