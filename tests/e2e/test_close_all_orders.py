"""Findings 2 and 3 end to end: `close-all` never cancels an order the service did not place, and never closes a
strategy past zero because of an order it could not cancel."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ib_async import LimitOrder, Stock

from tests.support.allocation import MNQ_PRICE, SPY, mnq_con_id, seed_for
from tests.support.macd_series import crossover_closes
from tests.support.service_process import ServiceProcess


def person_holds_a_gtc_order(person) -> dict:
    """A person's GTC buy limit far under the market, placed in TWS terms with another clientId; its broker view."""
    [aapl] = person.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    trade = person.placeOrder(aapl, LimitOrder("BUY", 10, 50.0, tif="GTC"))
    person.sleep(0.2)
    assert trade.orderStatus.status in ("PreSubmitted", "Submitted"), trade
    return {"perm_id": trade.order.permId, "quantity": 10.0, "lmt_price": 50.0}


def broker_view(t, perm_id: int) -> dict | None:
    for order in t.simulator.state()["open_orders"]:
        if order["perm_id"] == perm_id:
            return {"perm_id": order["perm_id"], "quantity": order["request"]["total_quantity"],
                    "lmt_price": order["request"]["lmt_price"]}
    return None


def test_close_all_without_strategies_leaves_a_persons_gtc_order_alone(trading, connect):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # one of the service's orders working: a passive buy limit 1% under the market
    held = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                      orderProperties={"limitOffsetPercent": -1})
    [working] = held["orders"]
    assert working["status"] in ("PreSubmitted", "Submitted")
    person = connect(t.simulator)
    gtc = person_holds_a_gtc_order(person)

    status, body = t.post("close-all")
    assert status == 200, body
    assert broker_view(t, gtc["perm_id"]) == gtc
    assert [o["perm_id"] for o in t.simulator.state()["open_orders"]] == [gtc["perm_id"]]
    assert [c["orderId"] for c in body["cancelled"]] == [working["orderId"]]
    assert body["leftWorking"] == [] and body["orders"] == []
    assert t.open_order_records() == []


def test_close_all_reaches_the_resting_orders_of_both_workers_and_leaves_a_persons_gtc_order(trading, connect):
    """Two workers of one gunicorn, each with a resting order it placed under its own clientId, and a person's GTC
    order on the account: close-all answers done, no order of the service is left working at IB (the other
    worker's order cancelled through that worker), and the person's order is as it was."""
    t = trading(workers=2)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    resting = {"limitOffsetPercent": -1}
    runs = [{"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}, "orderProperties": resting},
            {"strategies": ["spymacdvixy"], "orderProperties": resting}]
    workers = list(t.service.connections_to_each_worker().values())
    try:
        with ThreadPoolExecutor(len(workers)) as pool:
            answers = list(pool.map(lambda pair: pair[0].request("POST", "/allocation", pair[1]), zip(workers, runs)))
    finally:
        for worker in workers:
            worker.close()
    for status, result in answers:
        assert status == 200 and [o["status"] for o in result["orders"]] in (["PreSubmitted"], ["Submitted"]), result
    services = [o for o in t.simulator.state()["open_orders"] if o["request"]["order_ref"].startswith("allocation-")]
    assert {o["contract"]["con_id"] for o in services} == {mnq_con_id(answers[0][1]), SPY}
    assert len({o["client_id"] for o in services}) == 2, services
    gtc = person_holds_a_gtc_order(connect(t.simulator))

    status, body = t.post("close-all")

    assert status == 200 and body["status"] == "done", body
    assert sorted(c["orderId"] for c in body["cancelled"]) == sorted(o["order_id"] for o in services)
    assert body["leftWorking"] == [] and body["orders"] == []
    assert [o["perm_id"] for o in t.simulator.state()["open_orders"]] == [gtc["perm_id"]]
    assert broker_view(t, gtc["perm_id"]) == gtc
    assert t.post("trade-reconciliation")[0] == 200
    assert t.open_order_records() == [] and t.broker_positions() == {}


def holding_and_a_resting_sell_of_the_other_worker(t, other_worker):
    """dummy holds 2 MNQ, and the other worker (clientId 50) has placed a passive sell of 2 for it."""
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    mnq = mnq_con_id(result)
    t.wait_filled({mnq: 2})
    assert t.post("trade-reconciliation")[0] == 200
    # dummy's target drops to 0: a passive sell 1% above the market, placed by the other worker
    status, resting = other_worker.request("POST", "/allocation", {
        "strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(0)}},
        "orderProperties": {"limitOffsetPercent": -1}})
    assert status == 200, resting
    [sell] = resting["orders"]
    assert sell["action"] == "SELL" and sell["quantity"] == 2 and sell["status"] in ("PreSubmitted", "Submitted")
    return mnq, sell


def other_worker(t, tmp_path, request) -> ServiceProcess:
    """A second gunicorn on the same store whose worker holds clientId 50."""
    worker = ServiceProcess(ib_port=t.simulator.port, store_path=tmp_path / "store.sqlite3",
                            log_path=tmp_path / "second-service.log", workers=1, env={"IB_CLIENT_ID_BASE": "50"})
    request.addfinalizer(worker.stop)
    worker.start()
    worker.wait_ready()
    return worker


def test_close_all_cancels_an_order_another_worker_placed_through_that_worker(trading, connect, tmp_path,
                                                                               request):
    """IB lets only the clientId that placed an order cancel it: close-all asks the worker holding clientId 50
    to cancel the sell, waits for IB's confirmation, then closes dummy's 2 MNQ. A person's GTC order stays."""
    t = trading(workers=1)
    mnq, sell = holding_and_a_resting_sell_of_the_other_worker(t, other_worker(t, tmp_path, request))
    gtc = person_holds_a_gtc_order(connect(t.simulator))

    status, body = t.post("close-all")
    assert status == 200, body
    assert [c["orderId"] for c in body["cancelled"]] == [sell["orderId"]] and body["leftWorking"] == []
    assert [(o["action"], o["quantity"]) for o in body["orders"]] == [("SELL", 2)]
    assert broker_view(t, gtc["perm_id"]) == gtc
    t.wait_filled({})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {} and t.open_order_records() == []
    assert [o["perm_id"] for o in t.simulator.state()["open_orders"]] == [gtc["perm_id"]]


def test_an_order_of_a_client_id_no_worker_holds_is_counted_not_closed_past(trading, connect, tmp_path, request):
    """As above, but the worker that placed the sell is gone (its clientId held by nobody): close-all cannot
    cancel the sell, so it closes nothing, says what the operator can do, and dummy ends flat when it fills."""
    t = trading(workers=1)
    worker = other_worker(t, tmp_path, request)
    mnq, sell = holding_and_a_resting_sell_of_the_other_worker(t, worker)
    worker.stop()
    gtc = person_holds_a_gtc_order(connect(t.simulator))

    status, body = t.post("close-all")
    assert status == 200, body
    assert body["orders"] == [] and body["closingTrades"] == [] and body["cancelled"] == []
    [left] = body["leftWorking"]
    assert left["orderId"] == sell["orderId"] and left["remaining"] == {"dummy": -2}
    assert "clientId 50, which no worker of the service holds now" in left["reason"]
    assert broker_view(t, gtc["perm_id"]) == gtc

    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": 2})
    t.wait_filled({})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {}


def test_close_all_cancels_the_services_orders_one_by_one_never_globally(trading):
    """A global cancel reaches every order of the account, one a person enters between IB's list of open orders
    and the cancel included (with 3 s of gateway latency a person's GTC limit entered during close-all ended
    Cancelled). Even with nothing but the service's order listed, close-all cancels it by its own id."""
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    held = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                      orderProperties={"limitOffsetPercent": -1})
    [working] = held["orders"]

    status, body = t.post("close-all", {"strategies": ["dummy"]})
    assert status == 200, body
    assert [c["orderId"] for c in body["cancelled"]] == [working["orderId"]]
    requests = [session["requests"] for session in t.simulator.state()["sessions"]]
    assert sum(r.get("ReqGlobalCancel", 0) for r in requests) == 0
    assert sum(r.get("CancelOrder", 0) for r in requests) == 1


def test_a_fill_that_races_the_cancel_is_closed_too(trading, connect):
    """IB answers the cancel with PendingCancel, fills half of the order, then cancels the rest (error 202)."""
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    held = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                      orderProperties={"limitOffsetPercent": -1})
    gtc = person_holds_a_gtc_order(connect(t.simulator))
    t.simulator.admin("POST", "/faults", {"kind": "cancel-race", "fill_fraction": 0.5})

    status, body = t.post("close-all", {"strategies": ["dummy"]})
    assert status == 200, body
    assert [c["orderId"] for c in body["cancelled"]] == [held["orders"][0]["orderId"]]
    assert [(o["action"], o["quantity"]) for o in body["orders"]] == [("SELL", 1)]
    t.wait_filled({})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {} and t.open_order_records() == []
    assert broker_view(t, gtc["perm_id"]) == gtc
