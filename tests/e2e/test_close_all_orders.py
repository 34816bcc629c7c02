"""Findings 2 and 3 end to end: `close-all` never cancels an order the service did not place, and never closes a
strategy past zero because of an order it could not cancel."""
from __future__ import annotations

from ib_async import LimitOrder, Stock

from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
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


def test_an_order_another_worker_placed_is_counted_not_closed_past(trading, connect, tmp_path, request):
    """dummy holds 2 MNQ and has a resting sell of 2 that the other worker placed; a person's GTC order makes a
    global cancel impossible. close-all cannot cancel the sell: closing 2 more would leave dummy short 2 once the
    sell fills, so it closes nothing, reports the sell as left working, and dummy ends flat when it fills."""
    t = trading(workers=1)
    other_worker = ServiceProcess(ib_port=t.simulator.port, store_path=tmp_path / "store.sqlite3",
                                  log_path=tmp_path / "second-service.log", workers=1,
                                  env={"IB_CLIENT_ID_BASE": "50"})
    request.addfinalizer(other_worker.stop)
    other_worker.start()
    other_worker.wait_ready()
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
    gtc = person_holds_a_gtc_order(connect(t.simulator))

    status, body = t.post("close-all")
    assert status == 200, body
    assert body["orders"] == [] and body["closingTrades"] == []
    assert body["cancelled"] == []
    [left] = body["leftWorking"]
    assert left["orderId"] == sell["orderId"] and left["remaining"] == {"dummy": -2}
    assert "IB lets only the client that placed an order cancel it" in left["reason"]
    assert broker_view(t, gtc["perm_id"]) == gtc

    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": 2})
    t.wait_filled({})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {}


def test_a_fill_that_races_the_cancel_is_closed_too(trading, connect):
    """IB answers the cancel with PendingCancel, fills half of the order, then cancels the rest (error 202). A
    person's order keeps close-all from a global cancel, so the order is cancelled by itself."""
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
