"""Acceptance: each fault kind of the admin API (`POST /faults`) as an ib_insync client sees it."""

import asyncio
import socket

import pytest

from tests.support import iblib
from tests.support.iblib import IB, LimitOrder, MarketOrder, Stock, reported_status
from tests.support.clients import next_client_id
from tests.support.clock import NOW
from tests.support.simulator_process import SimulatorProcess, wait_until

RESTORE_S = 1.0


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, request):
    """A simulator of this module's own: faults change what every client of it sees."""
    process = SimulatorProcess(seed=61, now=NOW, fill_delay_ms=2,
                               log_path=tmp_path_factory.mktemp("faults") / "simulator.log")
    request.addfinalizer(process.stop)
    return process.start()


@pytest.fixture
def sim(faulty):
    yield faulty
    faulty.admin("DELETE", "/faults")


class Errors:
    """What ib_insync's errorEvent delivered: (reqId, code, text)."""

    def __init__(self, ib):
        self.seen: list[tuple[int, int, str]] = []
        ib.errorEvent += lambda req_id, code, text, contract: self.seen.append((req_id, code, text))

    def codes(self, req_id: int | None = None) -> list[int]:
        return [code for rid, code, _ in self.seen if req_id is None or rid == req_id]

    def text(self, code: int) -> str:
        return next(text for _, c, text in self.seen if c == code)


def qualified(ib, symbol: str) -> Stock:
    stock = Stock(symbol, "SMART", "USD")
    assert ib.qualifyContracts(stock) == [stock]
    return stock


def statuses(trade) -> list[str]:
    return [entry.status for entry in trade.log]


def test_order_warning_10349_makes_ib_insync_cancel_an_order_ib_then_fills(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    spy = qualified(ib, "SPY")
    sim.admin("POST", "/faults", {"kind": "order-warning"})
    trade = ib.placeOrder(spy, MarketOrder("BUY", 5))
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill after the warning", pump=ib.waitOnUpdate)
    assert errors.codes(trade.order.orderId) == [10349]
    assert errors.text(10349) == "Order TIF was set to DAY based on order preset."
    # ib_insync 0.9.86 marked the order Cancelled on the error; IB's own statuses then came and it filled
    log = statuses(trade)
    assert log.index("Cancelled") < log.index("Submitted") < log.index("Filled")
    assert [f.execution.shares for f in trade.fills] == [5]
    assert sim.admin("GET", "/faults")["armed"] == []


@pytest.mark.parametrize("code, text", [
    (399, "Order Message:\nBUY 3 SPY ARCA\nWarning: Your order was repriced so as not to cross a related resting "
          "order"),
    (2109, "Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the order type and "
           "destination. PlaceOrder is now being processed."),
])
def test_order_warnings_ib_insync_knows_as_warnings_leave_the_order_alone(sim, connect, code, text):
    ib = connect(sim)
    errors = Errors(ib)
    spy = qualified(ib, "SPY")
    sim.admin("POST", "/faults", {"kind": "order-warning", "code": code})
    trade = ib.placeOrder(spy, MarketOrder("BUY", 3))
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill", pump=ib.waitOnUpdate)
    assert errors.codes(trade.order.orderId) == [code] and errors.text(code) == text
    assert "Cancelled" not in statuses(trade)


def test_order_reject_comes_after_submitted_with_201_then_inactive(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    qqq = qualified(ib, "QQQ")
    sim.admin("POST", "/faults", {"kind": "order-reject", "text": "Order rejected - reason:Exchange is closed."})
    trade = ib.placeOrder(qqq, MarketOrder("BUY", 2))
    wait_until(lambda: trade.orderStatus.status == "Inactive", what="Inactive", pump=ib.waitOnUpdate)
    assert errors.codes(trade.order.orderId) == [201]
    assert errors.text(201) == "Order rejected - reason:Exchange is closed."
    log = statuses(trade)
    assert log.index("Submitted") < log.index("Cancelled") < log.index("Inactive")
    assert trade.orderStatus.permId > 0 and not trade.fills
    [completed] = [o for o in sim.state()["completed_orders"] if o["perm_id"] == trade.orderStatus.permId]
    assert completed["status"] == "Inactive" and completed["filled"] == 0
    follow_up = ib.placeOrder(qqq, MarketOrder("BUY", 2))
    wait_until(lambda: follow_up.orderStatus.status == "Filled", what="the next order", pump=ib.waitOnUpdate)


def test_connectivity_loss_and_1102_keep_the_socket_and_answer_what_waited(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    spy = qualified(ib, "SPY")
    sim.admin("POST", "/faults", {"kind": "connectivity", "seconds": RESTORE_S})
    wait_until(lambda: {1100, 2103, 2105} <= set(errors.codes(-1)), what="1100", pump=ib.waitOnUpdate)
    assert errors.text(1100) == "Connectivity between IB and Trader Workstation has been lost."
    # the gateway still answers from its own state; contract details and orders need IB's servers and wait
    assert ib.reqCurrentTime() and ib.isConnected()
    details = ib.reqContractDetailsAsync(Stock("IWM", "SMART", "USD"))
    held = ib.placeOrder(spy, MarketOrder("BUY", 4))
    assert not ib.run(_done_within(details, 0.3))
    assert held.orderStatus.status == "PendingSubmit"
    wait_until(lambda: 1102 in errors.codes(-1), timeout_s=RESTORE_S + 5, what="1102", pump=ib.waitOnUpdate)
    assert errors.text(1102).startswith("Connectivity between IB and Trader Workstation has been restored - data "
                                        "maintained.")
    wait_until(details.done, what="the contract details that waited", pump=ib.waitOnUpdate)
    assert details.result()[0].contract.symbol == "IWM"
    wait_until(lambda: held.orderStatus.status == "Filled", what="the order that waited", pump=ib.waitOnUpdate)
    assert sim.admin("GET", "/faults")["armed"] == []


def test_connectivity_back_with_1101_drops_data_requests_and_subscriptions(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    gld = qualified(ib, "GLD")
    ticker = ib.reqMktData(gld)
    wait_until(lambda: ticker.last > 0, what="first ticks", pump=ib.waitOnUpdate)
    sim.admin("POST", "/faults", {"kind": "connectivity", "seconds": RESTORE_S, "restore": "1101"})
    wait_until(lambda: 1100 in errors.codes(-1), what="1100", pump=ib.waitOnUpdate)
    details = ib.reqContractDetailsAsync(Stock("EFA", "SMART", "USD"))
    wait_until(lambda: 1101 in errors.codes(-1), timeout_s=RESTORE_S + 5, what="1101", pump=ib.waitOnUpdate)
    assert errors.text(1101) == "Connectivity between IB and Trader Workstation has been restored - data lost."
    last = ticker.last
    sim.admin("POST", "/price", {"symbol": "GLD", "price": round(last * 1.1, 2)})
    # a subscription that survived would stream the new price within a tick (0.25 s); IB dropped it
    assert not ib.run(_done_within(details, 0.6)) and ticker.last == last
    again = ib.reqMktData(gld)
    wait_until(lambda: again.last == round(last * 1.1, 2), what="a new subscription", pump=ib.waitOnUpdate)


async def _done_within(future, seconds: float) -> bool:
    try:
        await asyncio.wait_for(asyncio.shield(future), seconds)
        return True
    except asyncio.TimeoutError:
        return False


def test_pacing_answers_162_to_the_next_historical_requests(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    spy = qualified(ib, "SPY")
    sim.admin("POST", "/faults", {"kind": "pacing", "count": 2})
    assert not ib.reqHistoricalData(spy, "", "5 D", "1 day", "TRADES", useRTH=True)
    assert not ib.reqHistoricalData(spy, "", "5 D", "1 day", "TRADES", useRTH=True)
    assert errors.codes() == [162, 162]
    assert errors.text(162) == "Historical Market Data Service error message:Historical data request pacing violation"
    assert len(ib.reqHistoricalData(spy, "", "5 D", "1 day", "TRADES", useRTH=True)) == 5


def test_a_client_over_50_messages_a_second_gets_error_100(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    # ib_insync paces at 45 messages a second; switched off, it sends as a careless client would
    ib.client.MaxRequests = 0
    for _ in range(80):
        ib.client.reqCurrentTime()
    ib.client.MaxRequests = 45
    # paced again, this request waits for the second to pass; its end comes after every earlier reply
    ib.reqOpenOrders()
    # the gateway served 50 messages in that second, the connection's own sync among them, and refused the rest
    assert 30 <= errors.codes(-1).count(100) <= 50
    assert errors.text(100) == "Max rate of messages per second has been exceeded."


def test_market_data_error_fails_one_symbols_market_data(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    spy, tlt = qualified(ib, "SPY"), qualified(ib, "TLT")
    sim.admin("POST", "/faults", {"kind": "market-data-error", "symbol": "SPY", "code": 354, "count": 1})
    [tlt_ticker] = ib.reqTickers(tlt)
    assert tlt_ticker.last > 0
    [spy_ticker] = ib.reqTickers(spy)
    assert spy_ticker.last != spy_ticker.last     # nan: no tick came
    assert errors.codes() == [354]
    assert errors.text(354) == ("Requested market data is not subscribed.Delayed market data is available."
                                "SPY ARCA/TOP/ALL")
    [again] = ib.reqTickers(spy)
    assert again.last > 0


@pytest.mark.parametrize("code, text", [
    (10089, "Requested market data requires additional subscription for API. See link in 'Market Data Connections' "
            "dialog for more details.Delayed market data is available.TLT NASDAQ/TOP/ALL"),
    (10197, "No market data during competing live session"),
])
def test_market_data_error_codes(sim, connect, code, text):
    ib = connect(sim)
    errors = Errors(ib)
    tlt = qualified(ib, "TLT")
    sim.admin("POST", "/faults", {"kind": "market-data-error", "symbol": tlt.conId, "code": code})
    ticker = ib.reqMktData(tlt)
    wait_until(lambda: code in errors.codes(), what=f"error {code}", pump=ib.waitOnUpdate)
    assert errors.text(code) == text and ticker.last != ticker.last


def test_the_catalogue_lists_every_kind_and_what_is_armed(sim):
    listing = sim.admin("GET", "/faults")
    kinds = {entry["kind"]: entry for entry in listing["catalogue"]}
    assert {"order-warning", "order-reject", "connectivity", "pacing", "market-data-error"} <= set(kinds)
    assert {p["name"] for p in kinds["order-warning"]["parameters"]} == {"code", "text", "count", "seconds"}
    armed = sim.admin("POST", "/faults", {"kind": "pacing", "seconds": 60})["armed"]
    assert armed["kind"] == "pacing" and armed["remaining"] is None and 0 < armed["seconds_left"] <= 60
    assert [a["id"] for a in sim.admin("GET", "/faults")["armed"]] == [armed["id"]]
    assert sim.admin("DELETE", "/faults") == {"cleared": 1}
    assert sim.admin("GET", "/faults")["armed"] == []


@pytest.mark.parametrize("body, message", [
    ({}, "missing field(s): kind"),
    ({"kind": "volcano"}, "no fault kind 'volcano'"),
    ({"kind": "order-warning", "code": 42}, "code must be one of 10349, 399, 2109"),
    ({"kind": "market-data-error", "symbol": "NOSUCH"}, "unknown symbol 'NOSUCH'"),
    ({"kind": "pacing", "count": -1}, "count must be an integer"),
])
def test_a_bad_fault_is_a_400_naming_the_problem(sim, body, message):
    status, payload = sim.admin_request("POST", "/faults", body)
    assert status == 400 and message in payload["error"], payload
    assert sim.admin("GET", "/faults")["armed"] == []


def test_faults_take_get_post_and_delete_only(sim):
    status, payload = sim.admin_request("PUT", "/faults", {})
    assert status == 405 and "GET, POST, DELETE" in payload["error"]


def test_a_resting_limit_order_is_not_spent_by_faults_armed_later(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    spy = qualified(ib, "SPY")
    [ticker] = ib.reqTickers(spy)
    resting = ib.placeOrder(spy, LimitOrder("BUY", 1, round(ticker.bid * 0.8, 2), tif="GTC"))
    wait_until(lambda: resting.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    sim.admin("POST", "/faults", {"kind": "order-reject"})
    sim.admin("POST", "/price/move", {"symbol": "SPY", "pct": 0.1})
    assert len(sim.admin("GET", "/faults")["armed"]) == 1 and not errors.codes(resting.order.orderId)
    ib.cancelOrder(resting.order)
    wait_until(lambda: resting.orderStatus.status == "Cancelled", what="Cancelled", pump=ib.waitOnUpdate)


def test_inactive_then_active_holds_the_order_inactive_then_fills_it(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    iwm = qualified(ib, "IWM")
    sim.admin("POST", "/faults", {"kind": "inactive-then-active", "inactive_s": 0.5})
    trade = ib.placeOrder(iwm, MarketOrder("SELL", 6))
    wait_until(lambda: reported_status(trade) == "Inactive", what="Inactive", pump=ib.waitOnUpdate)
    assert trade.orderStatus.whyHeld == "locate" and trade.orderStatus.permId > 0 and not trade.fills
    assert errors.codes(trade.order.orderId) == [404]
    assert errors.text(404) == "Order held while securities are located."
    assert [o["status"] for o in sim.state()["open_orders"] if o["perm_id"] == trade.orderStatus.permId] == [
        "Inactive"]
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill after IB took it up",
               pump=ib.waitOnUpdate)
    log = statuses(trade)
    assert log.index("Inactive") < log.index("Submitted") < log.index("Filled")


def resting_limit(ib, symbol: str, quantity: int):
    contract = qualified(ib, symbol)
    [ticker] = ib.reqTickers(contract)
    limit = round(ticker.bid * 0.9, 2)
    trade = ib.placeOrder(contract, LimitOrder("BUY", quantity, limit, tif="GTC"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    return trade, limit


def test_cancel_race_goes_pending_cancel_and_a_fill_lands_before_cancelled(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    trade, limit = resting_limit(ib, "EFA", 10)
    sim.admin("POST", "/faults", {"kind": "cancel-race"})
    seen = []
    trade.statusEvent += lambda t: seen.append((t.orderStatus.status, t.orderStatus.filled))
    ib.cancelOrder(trade.order)
    wait_until(lambda: trade.orderStatus.status == "Cancelled", what="Cancelled", pump=ib.waitOnUpdate)
    assert [(f.execution.shares, f.execution.price) for f in trade.fills] == [(5, limit)]
    assert ("PendingCancel", 5) in seen and seen[-1] == ("Cancelled", 5)
    assert errors.codes(trade.order.orderId) == [202] and errors.text(202) == "Order Canceled - reason:"
    [completed] = [o for o in sim.state()["completed_orders"] if o["perm_id"] == trade.order.permId]
    assert completed["status"] == "Cancelled" and completed["filled"] == 5


def test_cancel_race_can_fill_the_whole_order(sim, connect):
    ib = connect(sim)
    trade, _ = resting_limit(ib, "EFA", 4)
    sim.admin("POST", "/faults", {"kind": "cancel-race", "fill_fraction": 1})
    ib.cancelOrder(trade.order)
    wait_until(lambda: trade.orderStatus.status == "Filled", what="Filled despite the cancel", pump=ib.waitOnUpdate)
    assert sum(f.execution.shares for f in trade.fills) == 4


def test_a_plain_cancel_is_answered_with_cancelled_and_202(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    trade, _ = resting_limit(ib, "EFA", 1)
    ib.cancelOrder(trade.order)
    wait_until(lambda: errors.codes(trade.order.orderId), what="202", pump=ib.waitOnUpdate)
    assert trade.orderStatus.status == "Cancelled" and errors.codes(trade.order.orderId) == [202]


def test_execution_correction_replaces_01_by_02_with_another_price(sim, connect):
    ib = connect(sim)
    vti = qualified(ib, "VTI")
    sim.admin("POST", "/faults", {"kind": "execution-correction", "delay_s": 0.3})
    trade = ib.placeOrder(vti, MarketOrder("BUY", 10))
    wait_until(lambda: len(trade.fills) == 2 and trade.fills[1].commissionReport.execId, what="the correction",
               pump=ib.waitOnUpdate)
    original, correction = (f.execution for f in trade.fills)
    assert original.execId.endswith(".01") and correction.execId == original.execId[:-2] + "02"
    assert correction.shares == 10 and correction.price == pytest.approx(original.price + 0.01)
    # IB's own order status has the corrected figures; ib_insync counts the correction as a second fill
    assert trade.orderStatus.filled == 10 and trade.orderStatus.avgFillPrice == pytest.approx(correction.price)
    assert trade.filled() == 20
    reported = [f.execution.execId for f in ib.reqExecutions() if f.execution.permId == trade.order.permId]
    assert reported == [correction.execId]
    kept = {e["exec_id"]: e for e in sim.state()["executions"]}
    assert kept[original.execId]["superseded_by"] == correction.execId
    assert kept[correction.execId]["corrects"] == original.execId


def test_commission_delay_sends_the_report_later(sim, connect):
    ib = connect(sim)
    ief = qualified(ib, "IEF")
    sim.admin("POST", "/faults", {"kind": "commission-delay", "delay_s": 0.6})
    trade = ib.placeOrder(ief, MarketOrder("BUY", 3))
    wait_until(lambda: trade.fills, what="the execution", pump=ib.waitOnUpdate)
    [fill] = trade.fills
    assert not fill.commissionReport.execId
    other = connect(sim)
    [reported] = [f for f in other.reqExecutions() if f.execution.execId == fill.execution.execId]
    assert not reported.commissionReport.execId
    wait_until(lambda: fill.commissionReport.execId, what="the late commission report", pump=ib.waitOnUpdate)
    assert fill.commissionReport.execId == fill.execution.execId and fill.commissionReport.commission > 0


def test_silent_order_gets_no_callback_but_ib_fills_it(sim, connect):
    ib = connect(sim)
    errors = Errors(ib)
    tlt = qualified(ib, "TLT")
    sim.admin("POST", "/faults", {"kind": "silent-order"})
    trade = ib.placeOrder(tlt, MarketOrder("BUY", 2, orderRef="silent"))
    wait_until(lambda: any(e["order_ref"] == "silent" for e in sim.state()["executions"]), what="IB's fill")
    ib.sleep(0.2)    # callbacks would have come with the fill
    assert trade.orderStatus.status == "PendingSubmit" and not trade.fills and not errors.codes()
    assert [f.execution.orderRef for f in ib.reqExecutions()].count("silent") == 1


def test_silent_order_lost_never_reaches_ib(sim, connect):
    ib = connect(sim)
    tlt = qualified(ib, "TLT")
    sim.admin("POST", "/faults", {"kind": "silent-order", "lost": True})
    trade = ib.placeOrder(tlt, MarketOrder("BUY", 2, orderRef="lost-order"))
    follow_up = ib.placeOrder(tlt, MarketOrder("BUY", 1, orderRef="after-the-lost-one"))
    wait_until(lambda: follow_up.orderStatus.status == "Filled", what="the next order", pump=ib.waitOnUpdate)
    state = sim.state()
    assert "lost-order" not in {o["request"]["order_ref"] for o in state["open_orders"] + state["completed_orders"]}
    assert trade.orderStatus.status == "PendingSubmit"


def test_handshake_hang_leaves_the_next_connection_unanswered(sim):
    sim.admin("POST", "/faults", {"kind": "handshake-hang"})
    hung = IB()
    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        hung.connect(sim.host, sim.port, clientId=next_client_id(), timeout=1)
    assert not hung.isConnected()
    fine = IB()
    try:
        fine.connect(sim.host, sim.port, clientId=next_client_id(), timeout=5)
        assert fine.isConnected()
    finally:
        fine.disconnect()


def test_handshake_hang_at_the_executions_stage_fails_a_sync_that_must_be_complete(sim):
    # ib_insync 0.9.86 raises its timeout; ib_async logs "executions request timed out" and stays connected
    # unless raiseSyncErrors is set, as the service sets it
    sim.admin("POST", "/faults", {"kind": "handshake-hang", "stage": "executions"})
    hung = IB()
    options = {} if iblib.NAME == "ib_insync" else {"raiseSyncErrors": True}
    with pytest.raises((asyncio.TimeoutError, TimeoutError, ConnectionError)):
        hung.connect(sim.host, sim.port, clientId=next_client_id(), timeout=1, **options)
    assert not hung.isConnected()


def accepts_connections(simulator) -> bool:
    try:
        with socket.create_connection((simulator.host, simulator.port), timeout=1):
            return True
    except OSError:
        return False


def wait_disconnected(ib) -> None:
    def pump(timeout_s):
        try:
            ib.waitOnUpdate(timeout_s)
        except ConnectionError:
            pass

    wait_until(lambda: not ib.isConnected(), what="the connection to drop", pump=pump)


def test_restart_drops_every_socket_refuses_connections_then_keeps_the_account(start_simulator, connect):
    simulator = start_simulator(seed=62)
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    trade = ib.placeOrder(spy, MarketOrder("BUY", 3))
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill", pump=ib.waitOnUpdate)
    simulator.admin("POST", "/faults", {"kind": "restart", "seconds": 1.0})
    wait_disconnected(ib)
    assert not accepts_connections(simulator)
    assert [a["kind"] for a in simulator.admin("GET", "/faults")["armed"]] == ["restart"]
    wait_until(lambda: accepts_connections(simulator), timeout_s=5, what="the port to accept again")
    again = connect(simulator)
    assert [(p.contract.conId, p.position) for p in again.positions()] == [(spy.conId, 3)]
    assert trade.fills[0].execution.execId in {f.execution.execId for f in again.reqExecutions()}


def test_restart_at_the_next_order_loses_that_order(start_simulator, connect):
    simulator = start_simulator(seed=63)
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    simulator.admin("POST", "/faults", {"kind": "restart", "when": "next-order", "seconds": 0.5})
    assert simulator.admin("GET", "/faults")["armed"][0]["remaining"] == 1
    lost = ib.placeOrder(spy, MarketOrder("BUY", 1, orderRef="vanishes"))
    wait_disconnected(ib)
    wait_until(lambda: accepts_connections(simulator), timeout_s=5, what="the port to accept again")
    again = connect(simulator)
    state = simulator.state()
    assert not state["open_orders"] and not state["completed_orders"] and not state["executions"]
    assert not again.reqAllOpenOrders() and not again.reqCompletedOrders(apiOnly=False)
    assert lost.orderStatus.status == "PendingSubmit"
