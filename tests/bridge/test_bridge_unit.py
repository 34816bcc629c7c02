"""Bridge mechanics without a gateway: the loop thread, timeouts, cancellation, fail-fast, backoff, stop."""
import asyncio
import itertools
import json
import random
import socket
import threading
import time

import pytest

from lib.errors import GatewayTimeout, GatewayUnavailable
from lib.gateway.bridge import IBBridge
from lib.gateway.client_ids import worker_client_ids
from lib.gateway.loop_thread import LoopThread
from lib.gateway.supervisor import BACKOFF_JITTER, Session, backoff_delays
from tests.support.simulator_process import wait_until

STATUS_KEYS = {"connected", "ready", "clientId", "lastError", "reconnects", "serverVersion"}


@pytest.fixture
def loop_thread():
    runner = LoopThread(name="test-loop")
    runner.start()
    yield runner
    runner.stop(timeout_s=5)


class BareServer:
    """A loopback TCP listener that is not a gateway: it closes each connection at once or keeps it silent.

    Args:
        mode: "close" (accept, then close) or "silent" (accept, never answer).
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.accepted_at: list[float] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._open: list[socket.socket] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._done.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted_at.append(time.monotonic())
            if self.mode == "close":
                conn.close()
            else:
                self._open.append(conn)

    def close(self):
        self._done.set()
        self._thread.join(5)
        for conn in self._open:
            conn.close()
        self._sock.close()


@pytest.fixture
def bare_server(request):
    servers = []

    def make(mode: str) -> BareServer:
        server = BareServer(mode)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def refused_port():
    """A port where nothing listens (bound but not listening, so no one else takes it meanwhile)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def make_bridge(request):
    def make(port: int, **options) -> IBBridge:
        options.setdefault("client_ids", [7])
        options.setdefault("connect_timeout_s", 2)
        options.setdefault("backoff_initial_s", 0.05)
        options.setdefault("backoff_max_s", 0.2)
        bridge = IBBridge(host="127.0.0.1", port=port, **options)
        request.addfinalizer(bridge.stop)
        return bridge

    return make


def bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ib-bridge-")]


# --- LoopThread ------------------------------------------------------------------------------------------------

def test_work_runs_on_the_loop_thread(loop_thread):
    async def where():
        asyncio.get_running_loop()  # raises outside a running loop
        return threading.get_ident()

    ident = loop_thread.submit(where, timeout_s=2)

    assert ident != threading.get_ident()
    assert [t for t in threading.enumerate() if t.ident == ident][0].name == "test-loop"


def test_exceptions_from_the_work_propagate_unchanged(loop_thread):
    error = KeyError("missing")

    async def fail():
        raise error

    with pytest.raises(KeyError) as caught:
        loop_thread.submit(fail, timeout_s=2)
    assert caught.value is error


def test_a_timeout_error_raised_by_the_work_is_not_a_gateway_timeout(loop_thread):
    async def inner_timeout():
        await asyncio.wait_for(asyncio.sleep(10), 0.01)

    with pytest.raises(TimeoutError) as caught:
        loop_thread.submit(inner_timeout, timeout_s=2)
    assert not isinstance(caught.value, GatewayTimeout)


def test_timeout_raises_gateway_timeout_and_cancels_the_work_on_the_loop(loop_thread):
    cancelled_on = []
    cancelled = threading.Event()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled_on.append(threading.current_thread().name)
            cancelled.set()
            raise

    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        loop_thread.submit(slow, timeout_s=0.2)
    elapsed_s = time.monotonic() - started

    assert 0.2 <= elapsed_s < 1.0
    assert cancelled.wait(2), "the timed-out coroutine was not cancelled"
    assert cancelled_on == ["test-loop"]


def test_the_loop_keeps_serving_after_a_timeout(loop_thread):
    async def slow():
        await asyncio.sleep(30)

    async def quick():
        return "ok"

    with pytest.raises(GatewayTimeout):
        loop_thread.submit(slow, timeout_s=0.05)
    assert loop_thread.submit(quick, timeout_s=2) == "ok"


def test_no_time_left_is_a_timeout_without_running_the_work(loop_thread):
    ran = []

    async def work():
        ran.append(True)

    with pytest.raises(GatewayTimeout):
        loop_thread.submit(work, timeout_s=0)
    assert loop_thread.submit(lambda: asyncio.sleep(0, "after"), timeout_s=2) == "after"
    assert ran == []


def test_blocking_call_from_the_loop_thread_itself_is_refused(loop_thread):
    async def reenter():
        loop_thread.submit(lambda: asyncio.sleep(0), timeout_s=1)

    with pytest.raises(RuntimeError, match="own loop thread"):
        loop_thread.submit(reenter, timeout_s=2)


def test_stop_fails_running_work_and_joins_the_thread(loop_thread):
    outcome = []
    entered = threading.Event()

    async def long_work():
        entered.set()
        await asyncio.sleep(30)

    def caller():
        try:
            loop_thread.submit(long_work, timeout_s=30)
        except Exception as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=caller)
    waiting.start()
    assert entered.wait(2)

    started = time.monotonic()
    assert loop_thread.stop(timeout_s=3) is True
    waiting.join(3)

    assert time.monotonic() - started < 2
    assert not waiting.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], GatewayUnavailable)
    assert not [t for t in threading.enumerate() if t.name == "test-loop"]


def test_stop_is_idempotent_and_a_stopped_loop_refuses_work(loop_thread):
    assert loop_thread.stop(timeout_s=2) is True
    assert loop_thread.stop(timeout_s=2) is True

    with pytest.raises(GatewayUnavailable):
        loop_thread.submit(lambda: asyncio.sleep(0), timeout_s=1)
    with pytest.raises(RuntimeError):
        loop_thread.start()


def run_on_private_loop(coro):
    # asyncio.run() would leave the main thread without a current loop, which ib_async's synchronous API needs later
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


# --- Session.guard: the connection dropping mid-call --------------------------------------------------------------

def test_a_call_in_flight_fails_with_gateway_unavailable_when_the_session_ends():
    async def scenario():
        loop = asyncio.get_running_loop()
        session = Session(ib=None, lost=loop.create_future(), last_data_s=loop.time())
        work = asyncio.ensure_future(asyncio.sleep(30))
        guarded = asyncio.ensure_future(session.guard(work))
        await asyncio.sleep(0.01)
        session.end("IB Gateway closed the connection")
        with pytest.raises(GatewayUnavailable, match="closed the connection"):
            await guarded
        await asyncio.sleep(0)
        return work.cancelled()

    assert run_on_private_loop(scenario()) is True


def test_guard_returns_the_result_of_work_that_finishes_first():
    async def scenario():
        loop = asyncio.get_running_loop()
        session = Session(ib=None, lost=loop.create_future(), last_data_s=loop.time())
        return await session.guard(asyncio.sleep(0.01, "value"))

    assert run_on_private_loop(scenario()) == "value"


# --- backoff and clientIds ---------------------------------------------------------------------------------------

def test_backoff_doubles_up_to_the_cap_with_a_little_jitter():
    delays = backoff_delays(0.5, 10, rng=random.Random(3))
    drawn = [next(delays) for _ in range(10)]
    nominal = [0.5, 1, 2, 4, 8, 10, 10, 10, 10, 10]

    for delay_s, base_s in zip(drawn, nominal):
        assert base_s <= delay_s <= base_s * (1 + BACKOFF_JITTER)
    assert len({round(d - n, 9) for d, n in zip(drawn, nominal)}) > 1, "no jitter"


def test_workers_start_at_their_own_slot_of_the_pool_and_go_round_it():
    def first(worker_age, count=4):
        return list(itertools.islice(worker_client_ids(10, 3, worker_age), count))

    assert first(1) == [10, 11, 12, 10]
    assert first(2) == [11, 12, 10, 11]
    assert first(3) == [12, 10, 11, 12]
    # a worker spawned to replace one starts where the worker of the same slot began: the pool never grows
    assert first(4) == first(1) and first(5) == first(2)


@pytest.mark.parametrize("args", [(-1, 2, 1), (1, 0, 1)])
def test_worker_client_ids_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        worker_client_ids(*args)


# --- IBBridge without a gateway ----------------------------------------------------------------------------------

def test_construction_does_no_io_and_starts_no_thread(refused_port):
    threads_before = threading.active_count()
    bridge = IBBridge(host="127.0.0.1", port=refused_port, client_ids=[1])

    assert threading.active_count() == threads_before
    assert bridge.ready is False
    assert bridge.wait_ready(0.01) is False
    status = bridge.status()
    assert set(status) == STATUS_KEYS and status["clientId"] == 1 and status["connected"] is False
    with pytest.raises(GatewayUnavailable):
        bridge.call(lambda ib: None, timeout_s=1)
    bridge.stop()


@pytest.mark.parametrize("options", [{"client_ids": []}, {"connect_timeout_s": 0},
                                     {"backoff_initial_s": 2, "backoff_max_s": 1}, {"probe_interval_s": -1}])
def test_invalid_settings_are_refused(options):
    options.setdefault("client_ids", [1])
    with pytest.raises(ValueError):
        IBBridge(host="127.0.0.1", port=4002, **options)


def test_calls_fail_fast_while_the_gateway_is_unreachable(make_bridge, refused_port):
    bridge = make_bridge(refused_port)
    bridge.start()
    wait_until(lambda: bridge.status()["lastError"], what="a failed connection attempt")

    for method in (bridge.call, bridge.run):
        started = time.monotonic()
        with pytest.raises(GatewayUnavailable, match="not ready"):
            method(lambda ib: None, timeout_s=10)
        # at once, not after the call's timeout (a loaded machine may still pause the test a few hundred ms)
        assert time.monotonic() - started < 1

    status = bridge.status()
    assert "ConnectionRefusedError" in status["lastError"]
    assert status["ready"] is False and status["connected"] is False
    assert bridge.wait_ready(0.2) is False
    json.dumps(status)


def test_failed_attempts_back_off_exponentially_up_to_the_cap(make_bridge, bare_server):
    server = bare_server("close")
    bridge = make_bridge(server.port, backoff_initial_s=0.05, backoff_max_s=0.2)
    bridge.start()
    wait_until(lambda: len(server.accepted_at) >= 9, timeout_s=10, what="nine connection attempts")
    bridge.stop()

    gaps = [b - a for a, b in zip(server.accepted_at, server.accepted_at[1:])][:8]
    nominal = [0.05, 0.1, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
    # each gap is the wait (nominal + up to 10 % jitter) plus the failed attempt, and whatever pause a busy machine
    # adds: at least the wait
    for gap_s, wait_s in zip(gaps, nominal):
        assert gap_s >= wait_s
    # and the cap holds: doubling on would wait 0.05 + 0.1 + ... + 6.4 = 12.75 s over these gaps, capped 1.35 s
    assert sum(gaps) < 5


def test_a_gateway_that_never_answers_times_the_attempt_out(make_bridge, bare_server):
    server = bare_server("silent")
    bridge = make_bridge(server.port, connect_timeout_s=0.3)
    bridge.start()

    error = wait_until(lambda: bridge.status()["lastError"], timeout_s=3, what="the attempt to time out")

    assert "0.3 s" in error or "TimeoutError" in error
    assert len(server.accepted_at) >= 1
    assert bridge.ready is False


def test_start_returns_at_once_and_stop_joins_within_the_limit(make_bridge, bare_server):
    server = bare_server("silent")
    bridge = make_bridge(server.port, connect_timeout_s=5)

    started = time.monotonic()
    bridge.start()
    assert time.monotonic() - started < 0.5
    wait_until(lambda: server.accepted_at, what="the connection attempt")
    assert bridge_threads()

    started = time.monotonic()
    bridge.stop(timeout_s=3)
    assert time.monotonic() - started < 1.0
    assert not bridge_threads()
    assert bridge.ready is False and bridge.status()["connected"] is False

    bridge.stop(timeout_s=3)
    with pytest.raises(RuntimeError):
        bridge.start()
    with pytest.raises(GatewayUnavailable):
        bridge.run(lambda ib: asyncio.sleep(0), timeout_s=1)
