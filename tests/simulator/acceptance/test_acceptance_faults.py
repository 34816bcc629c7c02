"""Acceptance: each fault kind of the admin API (`POST /faults`) as an ib_insync client sees it."""

import asyncio

import pytest
from ib_insync import LimitOrder, MarketOrder, Stock

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
    assert errors.text(354) == "Requested market data is not subscribed.Delayed market data is available.SPY ARCA/TOP/ALL"
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
