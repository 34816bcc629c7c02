"""IB's official ibapi client (server version 157) against the gateway over a real socket."""

import threading
import time

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.wrapper import EWrapper

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW


class RecordingApp(EWrapper, EClient):
    """An ibapi client that records the callbacks the tests look at."""

    def __init__(self):
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.events: list[tuple] = []
        self._changed = threading.Condition()

    def _record(self, *event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout_s: float = 5) -> tuple:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = next((e for e in self.events if predicate(e)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"no matching event; got {self.events[-5:]}"
                self._changed.wait(left)

    def of(self, name: str) -> list[tuple]:
        with self._changed:
            return [e for e in self.events if e[0] == name]

    def nextValidId(self, orderId):
        self._record("nextValidId", orderId)

    def managedAccounts(self, accountsList):
        self._record("managedAccounts", accountsList)

    def error(self, reqId, errorCode, errorString):
        self._record("error", reqId, errorCode, errorString)

    def contractDetails(self, reqId, contractDetails):
        self._record("contractDetails", reqId, contractDetails)

    def contractDetailsEnd(self, reqId):
        self._record("contractDetailsEnd", reqId)

    def tickPrice(self, reqId, tickType, price, attrib):
        self._record("tickPrice", reqId, tickType, price)

    def tickSnapshotEnd(self, reqId):
        self._record("tickSnapshotEnd", reqId)

    def historicalData(self, reqId, bar):
        self._record("historicalData", reqId, bar)

    def historicalDataEnd(self, reqId, start, end):
        self._record("historicalDataEnd", reqId)

    def openOrder(self, orderId, contract, order, orderState):
        self._record("openOrder", orderId, order, orderState.status)

    def orderStatus(self, orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice,
                    clientId, whyHeld, mktCapPrice):
        self._record("orderStatus", orderId, status, filled, avgFillPrice, clientId)

    def execDetails(self, reqId, contract, execution):
        self._record("execDetails", reqId, contract, execution)

    def execDetailsEnd(self, reqId):
        self._record("execDetailsEnd", reqId)

    def commissionReport(self, commissionReport):
        self._record("commissionReport", commissionReport)

    def position(self, account, contract, position, avgCost):
        self._record("position", contract.conId, position, avgCost)

    def positionEnd(self):
        self._record("positionEnd")

    def updateAccountValue(self, key, val, currency, accountName):
        self._record("updateAccountValue", key, val, currency)

    def accountDownloadEnd(self, accountName):
        self._record("accountDownloadEnd", accountName)

    def accountSummary(self, reqId, account, tag, value, currency):
        self._record("accountSummary", reqId, tag, value, currency)

    def accountSummaryEnd(self, reqId):
        self._record("accountSummaryEnd", reqId)

    def completedOrder(self, contract, order, orderState):
        self._record("completedOrder", order.permId, orderState.status)

    def completedOrdersEnd(self):
        self._record("completedOrdersEnd")


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
