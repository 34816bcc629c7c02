"""IB's official ibapi client (server version 157) against the gateway over a real socket."""

import threading

import pytest
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW
from tests.support.ibapi_client import RecordingApp


@pytest.fixture(scope="module")
def app():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, fill_delay_ms=1)) as sim:
        client = RecordingApp()
        client.connect(sim.host, sim.port, 31)
        reader = threading.Thread(target=client.run, name="ibapi-reader", daemon=True)
        reader.start()
        try:
            yield client
        finally:
            client.disconnect()
            reader.join(5)


def spy() -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = "SPY", "STK", "SMART", "USD"
    return contract


def test_connects_with_version_157_and_gets_next_valid_id(app):
    assert app.serverVersion() == 157
    assert app.wait_for(lambda e: e[0] == "nextValidId")[1] >= 1
    assert app.wait_for(lambda e: e[0] == "managedAccounts")[1] == "DU1234567"
    assert app.wait_for(lambda e: e[0] == "error" and e[2] == 2104)[1] == -1
    assert not [e for e in app.of("error") if e[2] < 2100]


def test_contract_details_and_unknown_contract(app):
    app.reqContractDetails(101, spy())
    app.wait_for(lambda e: e == ("contractDetailsEnd", 101))
    [(_, req_id, details)] = [e for e in app.of("contractDetails") if e[1] == 101]
    assert details.contract.conId == 756733 and details.contract.primaryExchange == "ARCA"
    assert details.stockType == "ETF" and details.minTick == 0.01
    unknown = spy()
    unknown.symbol = "NOSUCHSYM"
    app.reqContractDetails(102, unknown)
    assert app.wait_for(lambda e: e[0] == "error" and e[1] == 102)[2] == 200


def test_snapshot_and_history(app):
    app.reqMktData(103, spy(), "", True, False, [])
    app.wait_for(lambda e: e == ("tickSnapshotEnd", 103))
    prices = {e[2]: e[3] for e in app.of("tickPrice") if e[1] == 103}
    assert 0 < prices[1] < prices[2] and prices[4] > 0
    app.reqHistoricalData(104, spy(), "", "10 D", "1 day", "TRADES", 1, 1, False, [])
    app.wait_for(lambda e: e == ("historicalDataEnd", 104))
    bars = [e[2] for e in app.of("historicalData") if e[1] == 104]
    assert len(bars) == 10 and all(b.high >= b.low > 0 and len(b.date) == 8 for b in bars)


def test_market_order_fills_with_execution_and_commission(app):
    order_id = app.wait_for(lambda e: e[0] == "nextValidId")[1]
    order = Order()
    order.action, order.totalQuantity, order.orderType, order.orderRef = "BUY", 7, "MKT", "ibapi-1"
    app.placeOrder(order_id, spy(), order)
    filled = app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled")
    assert filled[3] == 7 and filled[4] > 0 and filled[5] == 31
    execution = app.wait_for(lambda e: e[0] == "execDetails" and e[3].orderId == order_id)[3]
    assert execution.shares == 7 and execution.side == "BOT" and execution.orderRef == "ibapi-1"
    report = app.wait_for(lambda e: e[0] == "commissionReport" and e[1].execId == execution.execId)[1]
    assert report.commission > 0 and report.currency == "USD"
    statuses = [e[2] for e in app.of("orderStatus") if e[1] == order_id]
    assert statuses.index("Submitted") < statuses.index("Filled")
    assert [e for e in app.of("openOrder") if e[1] == order_id][0][2].permId > 0


def test_account_positions_executions_and_completed_orders(app):
    app.reqPositions()
    app.wait_for(lambda e: e == ("positionEnd",))
    assert any(e[1] == 756733 and e[2] >= 7 for e in app.of("position"))
    app.reqAccountUpdates(True, "DU1234567")
    app.wait_for(lambda e: e == ("accountDownloadEnd", "DU1234567"))
    tags = {e[1] for e in app.of("updateAccountValue")}
    assert {"NetLiquidation", "TotalCashValue", "BuyingPower"} <= tags
    app.reqAccountSummary(105, "All", "NetLiquidation,AvailableFunds,$LEDGER:ALL")
    app.wait_for(lambda e: e == ("accountSummaryEnd", 105))
    summary = {(e[2], e[4]) for e in app.of("accountSummary") if e[1] == 105}
    assert ("NetLiquidation", "USD") in summary and ("CashBalance", "BASE") in summary
    app.reqExecutions(106, ExecutionFilter())
    app.wait_for(lambda e: e == ("execDetailsEnd", 106))
    assert [e for e in app.of("execDetails") if e[1] == 106]
    app.reqCompletedOrders(False)
    app.wait_for(lambda e: e == ("completedOrdersEnd",))
    assert ("Filled" in {e[2] for e in app.of("completedOrder")})


def test_req_ids_answers_next_valid_id(app):
    before = len(app.of("nextValidId"))
    app.reqIds(3)
    app.wait_for(lambda e: len(app.of("nextValidId")) > before)
    assert app.of("nextValidId")[-1][1] > app.of("nextValidId")[0][1]
