"""Acceptance: the account survives a restart with --state; the same seed and requests give the same results."""


from tests.support.iblib import LimitOrder, MarketOrder, Stock
from tests.support.simulator_process import wait_until

CLIENT_ID = 7


def test_state_survives_a_restart(start_simulator, connect, tmp_path):
    state_path = tmp_path / "account.json"
    simulator = start_simulator(seed=31, state_path=state_path)
    ib = connect(simulator, CLIENT_ID)
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    [ticker] = ib.reqTickers(spy)
    bought = ib.placeOrder(spy, MarketOrder("BUY", 10))
    wait_until(lambda: bought.isDone() and bought.fills[0].commissionReport.execId, what="fill",
               pump=ib.waitOnUpdate)
    resting = ib.placeOrder(spy, LimitOrder("BUY", 3, round(ticker.bid * 0.8, 2), tif="GTC", orderRef="keep"))
    wait_until(lambda: resting.orderStatus.status == "Submitted", what="resting", pump=ib.waitOnUpdate)
    wait_until(lambda: [p.position for p in ib.positions() if p.contract.conId == spy.conId] == [10],
               what="position", pump=ib.waitOnUpdate)
    before = simulator.state()
    position_before = {p.contract.conId: (p.position, p.avgCost) for p in ib.positions()}
    exec_ids_before = {f.execution.execId for f in ib.reqExecutions()}
    ib.disconnect()

    simulator.restart()
    assert state_path.exists()
    ib = connect(simulator, CLIENT_ID)
    after = simulator.state()
    assert after["cash"] == before["cash"]
    assert after["positions"] == before["positions"] and after["executions"] == before["executions"]
    assert {p.contract.conId: (p.position, p.avgCost) for p in ib.positions()} == position_before
    assert {f.execution.execId for f in ib.reqExecutions()} == exec_ids_before
    [restored] = [t for t in ib.openTrades() if t.order.permId == resting.order.permId]
    assert restored.order.orderId == resting.order.orderId and restored.order.orderRef == "keep"
    assert restored.orderStatus.status == "Submitted" and restored.order.totalQuantity == 3
    # order ids continue after the ones used before the restart
    assert ib.client.getReqId() > resting.order.orderId
    ib.cancelOrder(restored.order)
    wait_until(lambda: restored.orderStatus.status == "Cancelled", what="restored order cancelled",
               pump=ib.waitOnUpdate)
    again = ib.placeOrder(spy, MarketOrder("SELL", 4))
    wait_until(lambda: again.isDone() and again.fills, what="fill after restart", pump=ib.waitOnUpdate)
    assert again.order.permId > resting.order.permId
    assert again.fills[0].execution.execId not in exec_ids_before
    wait_until(lambda: [p.position for p in ib.positions() if p.contract.conId == spy.conId] == [6],
               what="position after restart", pump=ib.waitOnUpdate)


def run_script(ib) -> dict:
    """The same requests against any simulator; returns everything that should be deterministic."""
    spy, vixy = Stock("SPY", "SMART", "USD"), Stock("VIXY", "SMART", "USD")
    ib.qualifyContracts(spy, vixy)
    history = ib.reqHistoricalData(spy, "", "30 D", "1 day", "TRADES", useRTH=True)
    intraday = ib.reqHistoricalData(vixy, "", "2 D", "30 mins", "TRADES", useRTH=False, formatDate=2)
    tickers = ib.reqTickers(spy, vixy)
    trades = [ib.placeOrder(spy, MarketOrder("BUY", 5)), ib.placeOrder(vixy, MarketOrder("SELL", 20))]
    wait_until(lambda: all(t.isDone() and t.fills and t.fills[-1].commissionReport.execId for t in trades),
               what="fills", pump=ib.waitOnUpdate)
    return {
        "history": [(b.date, b.open, b.high, b.low, b.close, b.volume) for b in history],
        "intraday": [(b.date, b.close) for b in intraday],
        "quotes": [(t.bid, t.ask, t.last, t.close) for t in tickers],
        "orders": [(t.order.orderId, t.order.permId, t.orderStatus.avgFillPrice) for t in trades],
        "fills": [(f.execution.execId, f.execution.price, f.execution.shares, f.execution.time,
                   f.commissionReport.commission) for t in trades for f in t.fills],
    }


def test_same_seed_and_requests_give_the_same_results(start_simulator, connect):
    first, second, other_seed = (start_simulator(seed=seed, launch=True) for seed in (41, 41, 42))
    results = []
    for process in (first, second, other_seed):
        process.wait_listening()
        results.append(run_script(connect(process, CLIENT_ID)))
    same, again, different = results
    assert same == again
    assert different["history"] != same["history"] and different["quotes"] != same["quotes"]
    assert [order[:2] for order in different["orders"]] == [order[:2] for order in same["orders"]]
    assert all(bar[4] > 0 for bar in same["history"])
