"""Orders through the client library (tests.support.iblib) on a real socket: fills, commissions, resting limits, visibility, cancels."""


import pytest

from tests.support.iblib import IB, Contract, ExecutionFilter, Forex, LimitOrder, MarketOrder, Stock, TagValue
from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.simulator_process import wait_until
from tests.support.clock import NOW


@pytest.fixture(scope="module")
def gateway():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, seed=3, fill_delay_ms=2)) as sim:
        yield sim


@pytest.fixture(scope="module")
def ib(gateway):
    client = IB()
    client.connect(gateway.host, gateway.port, clientId=21, timeout=5)
    yield client
    client.disconnect()


@pytest.fixture(scope="module")
def other(gateway):
    client = IB()
    client.connect(gateway.host, gateway.port, clientId=22, timeout=5)
    yield client
    client.disconnect()



def qualified(ib: IB, contract: Contract) -> Contract:
    ib.qualifyContracts(contract)
    assert contract.conId
    return contract


def test_market_order_fills_with_execution_and_commission(ib):
    spy = qualified(ib, Stock("SPY", "SMART", "USD"))
    [ticker] = ib.reqTickers(spy)
    trade = ib.placeOrder(spy, MarketOrder("BUY", 10, orderRef="test-mkt", tif="DAY"))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.isDone() and trade.fills and trade.fills[-1].commissionReport.commission)
    assert trade.orderStatus.status == "Filled" and trade.orderStatus.filled == 10
    assert trade.order.permId > 0 and trade.orderStatus.avgFillPrice == pytest.approx(ticker.ask, rel=0.01)
    [fill] = trade.fills
    assert fill.execution.shares == 10 and fill.execution.side == "BOT" and fill.execution.orderRef == "test-mkt"
    assert fill.execution.execId and fill.execution.time.tzinfo is not None
    assert fill.commissionReport.execId == fill.execution.execId
    assert 0.35 <= fill.commissionReport.commission <= 10 and fill.commissionReport.currency == "USD"
    statuses = [entry.status for entry in trade.log]
    assert statuses.index("Submitted") < statuses.index("Filled")
    wait_until(pump=ib.waitOnUpdate, condition=lambda: any(p.contract.conId == spy.conId and p.position >= 10 for p in ib.positions()))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: any(p.contract.conId == spy.conId for p in ib.portfolio()))


def test_limit_order_rests_then_cancels(ib):
    spy = qualified(ib, Stock("SPY", "SMART", "USD"))
    [ticker] = ib.reqTickers(spy)
    trade = ib.placeOrder(spy, LimitOrder("BUY", 5, round(ticker.bid * 0.8, 2), tif="GTC", outsideRth=True))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.orderStatus.status == "Submitted")
    ib.sleep(0.05)
    assert trade.orderStatus.status == "Submitted" and not trade.fills
    assert trade in ib.openTrades()
    ib.cancelOrder(trade.order)
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.orderStatus.status == "Cancelled")
    assert trade not in ib.openTrades() and not trade.fills


def test_resting_limit_fills_when_the_price_crosses(ib, gateway):
    iwm = qualified(ib, Stock("IWM", "SMART", "USD"))
    [ticker] = ib.reqTickers(iwm)
    limit = round(ticker.ask * 0.95, 2)
    trade = ib.placeOrder(iwm, LimitOrder("BUY", 3, limit))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.orderStatus.status == "Submitted")
    gateway.call("set_price", "IWM", round(limit * 0.98, 2))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.orderStatus.status == "Filled")
    assert trade.orderStatus.avgFillPrice <= limit


def test_adaptive_algo_and_forex_conversion_order(ib):
    eurusd = qualified(ib, Forex("EURUSD", exchange="FXCONV"))
    order = MarketOrder("BUY", 20000, algoStrategy="Adaptive", algoParams=[TagValue("adaptivePriority", "Normal")])
    trade = ib.placeOrder(eurusd, order)
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.isDone())
    assert trade.orderStatus.status == "Filled" and trade.fills[0].contract.symbol == "EUR"


def test_open_orders_are_visible_per_client(ib, other):
    spy = qualified(ib, Stock("SPY", "SMART", "USD"))
    [ticker] = ib.reqTickers(spy)
    trade = ib.placeOrder(spy, LimitOrder("SELL", 1, round(ticker.ask * 1.5, 2), tif="GTC"))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.orderStatus.status == "Submitted")
    try:
        assert trade.order.orderId in [t.order.orderId for t in ib.reqOpenOrders()]
        assert trade.order.permId not in [t.order.permId for t in other.reqOpenOrders()]
        seen = other.reqAllOpenOrders()
        assert trade.order.permId in [t.order.permId for t in seen]
        assert trade.order.permId in [t.order.permId for t in other.openTrades()]
        mine = [t for t in seen if t.order.permId == trade.order.permId][0]
        assert mine.order.clientId == 21 and mine.order.lmtPrice == trade.order.lmtPrice
    finally:
        ib.cancelOrder(trade.order)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.orderStatus.status == "Cancelled")


def test_global_cancel_cancels_every_client(ib, other):
    spy = qualified(other, Stock("SPY", "SMART", "USD"))
    [ticker] = other.reqTickers(spy)
    mine = ib.placeOrder(spy, LimitOrder("BUY", 1, round(ticker.bid * 0.5, 2)))
    theirs = other.placeOrder(spy, LimitOrder("BUY", 1, round(ticker.bid * 0.5, 2)))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: mine.orderStatus.status == "Submitted")
    wait_until(pump=other.waitOnUpdate, condition=lambda: theirs.orderStatus.status == "Submitted")
    ib.reqGlobalCancel()
    wait_until(pump=ib.waitOnUpdate, condition=lambda: mine.orderStatus.status == "Cancelled")
    wait_until(pump=other.waitOnUpdate, condition=lambda: theirs.orderStatus.status == "Cancelled")


def test_rejections_reach_the_client(ib, gateway):
    spy = qualified(ib, Stock("SPY", "SMART", "USD"))
    zero = ib.placeOrder(spy, MarketOrder("BUY", 0))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: zero.isDone())
    assert zero.orderStatus.status in ("Cancelled", "Inactive")
    assert any(entry.errorCode for entry in zero.log)
    unknown = ib.placeOrder(Contract(conId=999999999, exchange="SMART"), MarketOrder("BUY", 1))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: unknown.isDone())
    assert [entry.errorCode for entry in unknown.log if entry.errorCode] == [200]
    gateway.call("reject_next_order", 201, "Order rejected - reason:test rejection")
    rejected = ib.placeOrder(spy, MarketOrder("BUY", 1))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: rejected.orderStatus.status == "Inactive")
    assert any(entry.errorCode == 201 and "test rejection" in entry.message for entry in rejected.log)
    assert rejected.orderStatus.permId > 0


def test_partial_fills_arrive_as_several_executions(ib, gateway):
    gateway.call("set_partial_fills", 3)
    try:
        tlt = qualified(ib, Stock("TLT", "SMART", "USD"))
        trade = ib.placeOrder(tlt, MarketOrder("BUY", 30))
        wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.isDone())
    finally:
        gateway.call("set_partial_fills", 1)
    assert trade.orderStatus.status == "Filled" and len(trade.fills) == 3
    assert [f.execution.cumQty for f in trade.fills] == [10, 20, 30]
    assert sum(f.execution.shares for f in trade.fills) == 30


def test_executions_and_completed_orders(ib, other):
    fills = other.reqExecutions(ExecutionFilter(clientId=21))
    assert fills and all(f.execution.clientId == 21 for f in fills)
    # ib_insync keeps the commission of an execution it already knew on its first Fill object
    known = {f.execution.execId: f for f in other.fills()}
    assert all(known[f.execution.execId].commissionReport.commission > 0 for f in fills)
    assert {f.execution.execId for f in ib.fills()} <= {f.execution.execId for f in other.reqExecutions()}
    completed = ib.reqCompletedOrders(apiOnly=True)
    statuses = {t.orderStatus.status for t in completed}
    assert "Filled" in statuses and "Cancelled" in statuses
