"""Faults as IB's official ibapi client sees them (raw callbacks over a real socket), armed in-process."""

import itertools
import socket
import struct
import time

import pytest
from ibapi.contract import Contract
from ibapi.order import Order

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW
from tests.support.ibapi_client import RecordingApp

CLIENT_IDS = itertools.count(41)
REQ_IDS = itertools.count(500)


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, fill_delay_ms=1)) as running:
        yield running


@pytest.fixture
def app(sim):
    client = RecordingApp().start(sim.host, sim.port, next(CLIENT_IDS))
    yield client
    client.stop()
    sim.call("clear_faults")


def stock(symbol: str) -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = symbol, "STK", "SMART", "USD"
    return contract


def market(action: str, quantity: float) -> Order:
    order = Order()
    order.action, order.totalQuantity, order.orderType = action, quantity, "MKT"
    return order


def place(app: RecordingApp, contract: Contract, order: Order) -> int:
    known = len(app.of("nextValidId"))
    app.reqIds(1)
    app.wait_for(lambda e: len(app.of("nextValidId")) > known)
    order_id = app.of("nextValidId")[-1][1]
    app.placeOrder(order_id, contract, order)
    return order_id


def order_events(app: RecordingApp, order_id: int) -> list[tuple]:
    """(kind, detail) of what arrived about one order, in order: ("error", code) or ("status", status)."""
    events = []
    for event in list(app.events):
        if event[0] == "error" and event[1] == order_id:
            events.append(("error", event[2]))
        elif event[0] == "orderStatus" and event[1] == order_id:
            if not events or events[-1] != ("status", event[2]):
                events.append(("status", event[2]))
    return events


def test_order_warning_arrives_between_presubmitted_and_submitted(sim, app):
    sim.call("arm_fault", "order-warning", code=10349)
    order_id = place(app, stock("SPY"), market("BUY", 2))
    app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled")
    assert order_events(app, order_id) == [("status", "PreSubmitted"), ("error", 10349), ("status", "Submitted"),
                                           ("status", "Filled")]
    assert app.errors(order_id) == [(10349, "Order TIF was set to DAY based on order preset.")]


def test_order_reject_sends_201_then_inactive_with_the_perm_id(sim, app):
    sim.call("arm_fault", "order-reject")
    order_id = place(app, stock("SPY"), market("BUY", 2))
    inactive = app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Inactive")
    assert order_events(app, order_id) == [("status", "PreSubmitted"), ("status", "Submitted"), ("error", 201),
                                           ("status", "Inactive")]
    assert app.errors(order_id) == [(201, "Order rejected - reason:The order was rejected by the exchange.")]
    assert inactive[6] > 0 and not [e for e in app.of("execDetails") if e[3].orderId == order_id]


def test_connectivity_loss_answers_the_clock_and_holds_contract_details_until_1102(sim, app):
    # long enough that the requests below are sent before IB's servers come back, even on a busy machine
    sim.call("arm_fault", "connectivity", seconds=2)
    app.wait_for(lambda e: e[0] == "error" and e[2] == 2105)
    errors = app.errors(-1)
    lost = errors.index((1100, "Connectivity between IB and Trader Workstation has been lost."))
    assert errors[lost + 1:lost + 3] == [(2103, "Market data farm connection is broken:usfarm"),
                                         (2105, "HMDS data farm connection is broken:ushmds")]
    app.reqCurrentTime()
    app.wait_for(lambda e: e[0] == "currentTime")
    req_id = next(REQ_IDS)
    app.reqContractDetails(req_id, stock("TLT"))
    assert not [e for e in app.events if e[0] == "contractDetailsEnd" and e[1] == req_id]
    app.wait_for(lambda e: e == ("contractDetailsEnd", req_id), timeout_s=5)
    codes = [code for code, _ in app.errors(-1)]
    assert codes.index(1100) < codes.index(1102) < codes.index(2104, codes.index(1102))
    restored = [e for e in app.events if e[0] == "error" and e[2] == 1102][0]
    assert app.events.index(restored) < app.events.index(("contractDetailsEnd", req_id))


def test_pacing_and_message_rate_errors(sim, app):
    sim.call("arm_fault", "pacing")
    req_id = next(REQ_IDS)
    app.reqHistoricalData(req_id, stock("SPY"), "", "2 D", "1 day", "TRADES", 1, 1, False, [])
    app.wait_for(lambda e: e[0] == "error" and e[1] == req_id)
    assert app.errors(req_id) == [(162, "Historical Market Data Service error message:Historical data request "
                                        "pacing violation")]
    before = len(app.of("currentTime"))
    for _ in range(70):
        app.reqCurrentTime()
    app.wait_for(lambda e: len(app.of("currentTime")) - before + app.errors(-1).count(
        (100, "Max rate of messages per second has been exceeded.")) == 70)
    assert len(app.of("currentTime")) - before <= 50


def test_market_data_error_on_a_snapshot(sim, app):
    sim.call("arm_fault", "market-data-error", symbol="SPY", code=10089)
    req_id = next(REQ_IDS)
    app.reqMktData(req_id, stock("SPY"), "", True, False, [])
    app.wait_for(lambda e: e[0] == "error" and e[1] == req_id)
    [(code, text)] = app.errors(req_id)
    assert code == 10089 and text.startswith("Requested market data requires additional subscription for API.")
    assert not [e for e in app.events if e[0] in ("tickPrice", "tickSnapshotEnd") and e[1] == req_id]


def limit(action: str, quantity: float, price: float) -> Order:
    order = Order()
    order.action, order.totalQuantity, order.orderType, order.lmtPrice, order.tif = (
        action, quantity, "LMT", price, "GTC")
    return order


def executions_of(app: RecordingApp, order_id: int) -> list:
    return [e[3] for e in app.of("execDetails") if e[3].orderId == order_id]


def test_inactive_then_active_sends_inactive_with_locate_then_submitted(sim, app):
    sim.call("arm_fault", "inactive-then-active", inactive_s=0.3)
    order_id = place(app, stock("IWM"), market("SELL", 2))
    app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled")
    assert order_events(app, order_id) == [("status", "PreSubmitted"), ("status", "Inactive"), ("error", 404),
                                           ("status", "Submitted"), ("status", "Filled")]
    inactive = next(e for e in app.of("orderStatus") if e[1] == order_id and e[2] == "Inactive")
    assert inactive[7] == "locate" and inactive[6] > 0


def test_cancel_race_sends_pending_cancel_a_fill_then_cancelled_and_202(sim, app):
    order_id = place(app, stock("GLD"), limit("BUY", 8, 1.0))
    app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Submitted")
    sim.call("arm_fault", "cancel-race", fill_fraction=0.25)
    app.cancelOrder(order_id)
    app.wait_for(lambda e: e[0] == "error" and e[1] == order_id and e[2] == 202)
    assert order_events(app, order_id)[-4:] == [("status", "Submitted"), ("status", "PendingCancel"),
                                                ("status", "Cancelled"), ("error", 202)]
    [execution] = executions_of(app, order_id)
    assert execution.shares == 2 and execution.price == 1.0
    fill_index = app.events.index(next(e for e in app.events if e[0] == "execDetails" and e[3].orderId == order_id))
    cancelled = next(e for e in app.events if e[0] == "orderStatus" and e[1] == order_id and e[2] == "Cancelled")
    assert fill_index < app.events.index(cancelled) and cancelled[3] == 2


def test_execution_correction_sends_a_02_execution_with_its_commission_report(sim, app):
    sim.call("arm_fault", "execution-correction", delay_s=0.2, quantity=9, price=250.5)
    order_id = place(app, stock("VTI"), market("BUY", 10))
    app.wait_for(lambda e: e[0] == "execDetails" and e[3].orderId == order_id and e[3].execId.endswith(".02"))
    original, correction = executions_of(app, order_id)
    assert correction.execId == original.execId[:-3] + ".02" and (correction.shares, correction.price) == (9, 250.5)
    app.wait_for(lambda e: e[0] == "commissionReport" and e[1].execId == correction.execId)
    status = [e for e in app.of("orderStatus") if e[1] == order_id][-1]
    assert (status[3], status[4]) == (9, 250.5)
    vti = next(e[2] for e in app.of("execDetails") if e[3].execId == correction.execId)
    positions = {p["con_id"]: p["quantity"] for p in sim.call("snapshot")["positions"]}
    assert positions[vti.conId] == 9


def test_commission_delay_sends_the_commission_report_after_its_execution(sim, app):
    sim.call("arm_fault", "commission-delay", delay_s=0.3)
    order_id = place(app, stock("IEF"), market("BUY", 2))
    execution = app.wait_for(lambda e: e[0] == "execDetails" and e[3].orderId == order_id)[3]
    assert not [e for e in app.of("commissionReport") if e[1].execId == execution.execId]
    app.wait_for(lambda e: e[0] == "commissionReport" and e[1].execId == execution.execId)
    filled = next(e for e in app.events if e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled")
    report = next(e for e in app.events if e[0] == "commissionReport" and e[1].execId == execution.execId)
    assert app.events.index(filled) < app.events.index(report)


def test_silent_order_sends_nothing_while_ib_fills_it(sim, app):
    sim.call("arm_fault", "silent-order")
    order_id = place(app, stock("TLT"), market("BUY", 1))
    follow_up = place(app, stock("TLT"), market("BUY", 1))
    app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == follow_up and e[2] == "Filled")
    assert not [e for e in app.events if e[0] in ("openOrder", "orderStatus", "error") and e[1] == order_id]
    assert not executions_of(app, order_id)
    filled_by_ib = [e for e in sim.call("snapshot")["executions"] if e["order_id"] == order_id
                    and e["client_id"] == app.of("orderStatus")[-1][5]]
    assert len(filled_by_ib) == 1


def test_restart_closes_the_socket(sim):
    client = RecordingApp().start(sim.host, sim.port, next(CLIENT_IDS))
    try:
        sim.call("arm_fault", "restart", seconds=0.3)
        client.wait_for(lambda e: e == ("connectionClosed",))
    finally:
        client.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((sim.host, sim.port), timeout=1).close()
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection((sim.host, sim.port), timeout=1).close()
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the port never accepted again"
            time.sleep(0.05)
    RecordingApp().start(sim.host, sim.port, next(CLIENT_IDS)).stop()


def test_handshake_hang_never_answers_the_version_handshake(sim):
    sim.call("arm_fault", "handshake-hang")
    with socket.create_connection((sim.host, sim.port), timeout=2) as raw:
        version = b"v100..176"
        raw.sendall(b"API\0" + struct.pack(">I", len(version)) + version)
        raw.settimeout(0.5)
        with pytest.raises(socket.timeout):
            raw.recv(1024)
    # the next connection gets its answer
    client = RecordingApp().start(sim.host, sim.port, next(CLIENT_IDS))
    client.stop()
