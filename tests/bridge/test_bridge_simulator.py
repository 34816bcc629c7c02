"""The bridge against the paper gateway simulator over a real socket: readiness, reads, IB errors, clientId
recovery, losing and regaining the gateway, clean stop."""
import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from ib_async import MarketOrder, Stock

from lib.errors import GatewayTimeout, GatewayUnavailable, IBError
from lib.gateway import pacing
from lib.gateway.client_ids import worker_client_ids
from simulator.thread import SimulatorThread
from tests.support.simulator_process import wait_until

READY_TIMEOUT_S = 10
CALL_TIMEOUT_S = 5
# messages in a burst: more than two seconds of IB's limit
BURST = 120


def session_client_ids(sim: SimulatorThread) -> list[int]:
    return [s["client_id"] for s in sim.call("snapshot")["sessions"]]


async def buy_spy(ib, quantity: int):
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    trade = ib.placeOrder(spy, MarketOrder("BUY", quantity))
    while not trade.isDone():
        await trade.statusEvent
    return trade.orderStatus.status, spy.conId


def test_connects_and_becomes_ready(simulator, make_bridge):
    bridge = make_bridge(simulator, client_ids=[5])

    assert bridge.wait_ready(READY_TIMEOUT_S)
    status = bridge.status()
    assert status == {"connected": True, "ready": True, "clientId": 5, "lastError": None, "reconnects": 0,
                      "serverVersion": status["serverVersion"]}
    assert status["serverVersion"] >= 150
    assert session_client_ids(simulator) == [5]


def test_call_reads_the_real_portfolio_on_the_loop_thread(simulator, bridge):
    status, con_id = bridge.run(lambda ib: buy_spy(ib, 10), timeout_s=CALL_TIMEOUT_S)
    assert status == "Filled"

    def read(ib):
        return threading.current_thread().name, ib.positions(), ib.portfolio()

    def holds_spy():
        thread_name, positions, portfolio = bridge.call(read, timeout_s=CALL_TIMEOUT_S)
        spy_positions = [p for p in positions if p.contract.conId == con_id]
        spy_items = [i for i in portfolio if i.contract.conId == con_id]
        return spy_positions and spy_items and (thread_name, spy_positions[0], spy_items[0])

    thread_name, position, item = wait_until(holds_spy, what="SPY in positions and portfolio")

    assert thread_name.startswith("ib-bridge-")
    assert thread_name != threading.current_thread().name
    assert position.position == 10
    assert item.position == 10
    broker_positions = {p["con_id"]: p["quantity"] for p in simulator.call("snapshot")["positions"]}
    assert broker_positions[con_id] == 10
    assert item.marketValue == pytest.approx(10 * item.marketPrice, rel=1e-6)


def test_an_unknown_contract_surfaces_as_ib_error_200(bridge):
    with pytest.raises(IBError) as caught:
        bridge.run(lambda ib: ib.reqContractDetailsAsync(Stock("NOSUCHSYMBOL", "SMART", "USD")),
                   timeout_s=CALL_TIMEOUT_S)

    assert caught.value.code == 200
    assert "No security definition" in caught.value.message
    assert caught.value.req_id > 0
    assert bridge.ready


def test_call_passes_errors_through_and_refuses_awaitables(bridge):
    with pytest.raises(ZeroDivisionError):
        bridge.call(lambda ib: 1 / 0, timeout_s=CALL_TIMEOUT_S)
    with pytest.raises(TypeError, match="use run"):
        bridge.call(lambda ib: ib.reqCurrentTimeAsync(), timeout_s=CALL_TIMEOUT_S)
    assert isinstance(bridge.run(lambda ib: ib.reqCurrentTimeAsync(), timeout_s=CALL_TIMEOUT_S), datetime)


def test_a_slow_call_times_out_and_the_bridge_stays_ready(bridge):
    with pytest.raises(GatewayTimeout):
        bridge.run(lambda ib: asyncio.sleep(10), timeout_s=0.2)
    assert bridge.ready
    assert bridge.call(lambda ib: ib.isConnected(), timeout_s=CALL_TIMEOUT_S) is True


def test_concurrent_calls_from_many_threads(bridge):
    def details(_):
        found = bridge.run(lambda ib: ib.reqContractDetailsAsync(Stock("QQQ", "SMART", "USD")),
                           timeout_s=CALL_TIMEOUT_S)
        return found[0].contract.conId

    # 32 requests paced at 45 a second take under a second, well inside each call's timeout
    with ThreadPoolExecutor(max_workers=16) as pool:
        con_ids = list(pool.map(details, range(32)))

    assert len(con_ids) == 32 and len(set(con_ids)) == 1


def test_more_requests_than_ib_takes_in_a_second_are_paced_not_refused(bridge):
    # IB refuses what a client sends past 50 messages in a second with error 100, and so does the simulator
    async def burst(ib):
        return await asyncio.gather(*(ib.reqContractDetailsAsync(Stock("QQQ", "SMART", "USD")) for _ in range(BURST)),
                                    return_exceptions=True)

    answers = bridge.run(burst, timeout_s=BURST / 45 + CALL_TIMEOUT_S)

    refused = [answer for answer in answers if not isinstance(answer, list)]
    assert refused == [] and all(answer[0].contract.conId for answer in answers)


def test_every_message_of_the_connection_passes_the_services_own_pacer(bridge):
    # ib_async's pacing is off and its sendMsg is the pacer's: the handshake's sync and each request go through it
    def counts(ib):
        return ib.client.MaxRequests, pacing.pacer(ib).sent

    library_pacing, after_sync = bridge.call(counts, timeout_s=CALL_TIMEOUT_S)
    bridge.run(lambda ib: ib.reqCurrentTimeAsync(), timeout_s=CALL_TIMEOUT_S)
    _, after_request = bridge.call(counts, timeout_s=CALL_TIMEOUT_S)

    assert library_pacing == 0
    assert after_sync >= 4  # startApi, positions, open orders, completed orders, account updates, executions
    assert after_request == after_sync + 1


def test_a_connection_whose_initial_sync_times_out_is_not_ready_and_is_retried(simulator, make_bridge, caplog):
    # IB's reqExecutions of the first connection never ends: ib_async alone would log it and call the connection
    # ready (raiseSyncErrors off); the supervisor's connect budget and raiseSyncErrors both refuse it
    simulator.call("arm_fault", "handshake-hang", stage="executions", count=1)
    with caplog.at_level(logging.WARNING, logger="lib.gateway.supervisor"):
        bridge = make_bridge(simulator, client_ids=[7], connect_timeout_s=1)
        assert bridge.wait_ready(READY_TIMEOUT_S), bridge.status()

    failed = [r.getMessage() for r in caplog.records if r.name == "lib.gateway.supervisor"]
    assert len(failed) == 1 and "failed" in failed[0], failed
    assert bridge.status()["reconnects"] == 0


def test_a_worker_whose_whole_pool_is_taken_keeps_trying_and_takes_the_first_id_freed(simulator, make_bridge,
                                                                                       connect):
    holders = {client_id: connect(simulator, client_id) for client_id in (31, 32)}
    bridge = make_bridge(simulator, client_ids=worker_client_ids(31, 2, worker_age=1))
    wait_until(lambda: "clientId 32 is in use" in (bridge.status()["lastError"] or ""), what="both ids refused")
    assert not bridge.ready

    holders[32].disconnect()

    assert bridge.wait_ready(READY_TIMEOUT_S), bridge.status()
    assert bridge.status()["clientId"] == 32


def test_a_taken_client_id_moves_on_to_the_next_candidate(simulator, make_bridge):
    first = make_bridge(simulator, client_ids=[21])
    assert first.wait_ready(READY_TIMEOUT_S)

    started = time.monotonic()
    second = make_bridge(simulator, client_ids=iter([21, 22]), connect_timeout_s=8)
    assert second.wait_ready(READY_TIMEOUT_S), second.status()

    # 326 is noticed when it arrives, not when the connect timeout runs out
    assert time.monotonic() - started < 4
    assert second.status()["clientId"] == 22
    assert first.ready and first.status()["clientId"] == 21
    assert session_client_ids(simulator) == [21, 22]


def test_losing_the_gateway_fails_calls_fast_and_it_comes_back_by_itself(simulators, make_bridge):
    sim = simulators.start()
    port = sim.port
    bridge = make_bridge(sim, client_ids=[3])
    assert bridge.wait_ready(READY_TIMEOUT_S)
    outcome = []
    entered = threading.Event()

    async def long_work(ib):
        entered.set()
        await asyncio.sleep(30)

    def in_flight():
        started = time.monotonic()
        try:
            bridge.run(long_work, timeout_s=20)
        except Exception as exc:
            outcome.append((exc, time.monotonic() - started))

    caller = threading.Thread(target=in_flight)
    caller.start()
    assert entered.wait(CALL_TIMEOUT_S)

    simulators.stop(sim)

    caller.join(5)
    assert not caller.is_alive()
    [(error, elapsed_s)] = outcome
    assert isinstance(error, GatewayUnavailable) and elapsed_s < 3
    wait_until(lambda: not bridge.ready, timeout_s=2, what="ready to go false")
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        bridge.call(lambda ib: ib.positions(), timeout_s=CALL_TIMEOUT_S)
    # at once, not after the call's timeout (a loaded machine may still pause the test a few hundred ms)
    assert time.monotonic() - started < 1
    assert bridge.status()["connected"] is False and bridge.status()["lastError"]

    restarted = simulators.start(port=port)
    assert bridge.wait_ready(READY_TIMEOUT_S), bridge.status()
    assert bridge.status()["reconnects"] == 1 and bridge.status()["clientId"] == 3
    assert isinstance(bridge.run(lambda ib: ib.reqCurrentTimeAsync(), timeout_s=CALL_TIMEOUT_S), datetime)
    assert session_client_ids(restarted) == [3]


def test_dropped_connections_are_re_established(simulator, bridge):
    assert simulator.call("drop_connections")["dropped"] == 1

    wait_until(lambda: bridge.status()["reconnects"] == 1 and bridge.ready, timeout_s=5, what="a reconnect")
    assert bridge.call(lambda ib: ib.isConnected(), timeout_s=CALL_TIMEOUT_S) is True


def test_a_silent_socket_is_found_by_the_idle_probe(simulator, make_bridge):
    bridge = make_bridge(simulator, probe_interval_s=0.2, probe_timeout_s=0.3, connect_timeout_s=0.5)
    assert bridge.wait_ready(READY_TIMEOUT_S)

    # replies now lag well past the probe and connect timeouts (kept short: the simulator flushes them on stop)
    simulator.call("set_latency", 2_000)
    wait_until(lambda: not bridge.ready, timeout_s=3, what="the probe to declare the socket dead")
    assert "probe" in bridge.status()["lastError"]

    simulator.call("set_latency", 0)
    assert bridge.wait_ready(READY_TIMEOUT_S), bridge.status()
    assert bridge.status()["reconnects"] >= 1


def test_stop_disconnects_and_joins_within_the_limit(simulator, make_bridge):
    bridge = make_bridge(simulator, client_ids=[9])
    assert bridge.wait_ready(READY_TIMEOUT_S)

    started = time.monotonic()
    bridge.stop(timeout_s=5)
    elapsed_s = time.monotonic() - started

    assert elapsed_s < 2
    assert not [t for t in threading.enumerate() if t.name.startswith("ib-bridge-") and t.is_alive()]
    assert bridge.ready is False
    wait_until(lambda: 9 not in session_client_ids(simulator), timeout_s=2, what="the simulator to see the client go")
    with pytest.raises(GatewayUnavailable):
        bridge.call(lambda ib: None, timeout_s=1)
    bridge.stop()
