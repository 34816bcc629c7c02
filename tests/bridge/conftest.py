"""Fixtures of the bridge tests: in-process simulators (frozen clock at NOW) and started bridges."""
import pytest

from lib.gateway.bridge import IBBridge
from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW

READY_TIMEOUT_S = 10


class Simulators:
    """Starts in-process simulators (frozen clock at NOW) and stops each exactly once."""

    def __init__(self):
        self._running: list[SimulatorThread] = []

    def start(self, port: int = 0) -> SimulatorThread:
        sim = SimulatorThread(SimulatorConfig(port=port, now=NOW, fill_delay_ms=2))
        sim.__enter__()
        self._running.append(sim)
        return sim

    def stop(self, sim: SimulatorThread) -> None:
        if sim in self._running:
            self._running.remove(sim)
            sim.__exit__(None, None, None)

    def stop_all(self) -> None:
        for sim in list(self._running):
            self.stop(sim)


@pytest.fixture
def simulators():
    running = Simulators()
    yield running
    running.stop_all()


@pytest.fixture
def simulator(simulators) -> SimulatorThread:
    return simulators.start()


@pytest.fixture
def make_bridge(request):
    """Factory for started bridges (fast backoff and probing), stopped after the test."""

    def make(sim: SimulatorThread, client_ids=(1,), **options) -> IBBridge:
        options.setdefault("connect_timeout_s", 5)
        options.setdefault("backoff_initial_s", 0.05)
        options.setdefault("backoff_max_s", 0.5)
        bridge = IBBridge(host=sim.host, port=sim.port, client_ids=client_ids, **options)
        request.addfinalizer(bridge.stop)
        bridge.start()
        return bridge

    return make


@pytest.fixture
def bridge(simulator, make_bridge) -> IBBridge:
    bridge = make_bridge(simulator)
    assert bridge.wait_ready(READY_TIMEOUT_S), bridge.status()
    return bridge
