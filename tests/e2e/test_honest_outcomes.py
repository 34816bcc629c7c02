"""Finding 5 end to end: an allocation whose every strategy failed does not answer "done", and a run that failed
after its orders may have left says which in its answer and its activity document."""
from __future__ import annotations

from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.allocation import MNQ_PRICE, seed_for

DUMMY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}


def test_an_allocation_whose_every_strategy_failed_answers_500_naming_them(trading):
    t = trading(workers=2)
    # IB refuses MNQ's market data (354, not subscribed): dummy cannot size its target
    t.simulator.admin("POST", "/faults", {"kind": "market-data-error", "symbol": "MNQ", "count": 5})

    status, body = t.post("allocation", DUMMY)
    assert status == 500, body
    assert body["error"].startswith("EveryStrategyFailed: every strategy failed, nothing placed: dummy: ")
    assert t.broker_orders() == []
    [activity] = t.activity("allocation")
    assert activity["status"] == "failed" and "dummy: " in activity["exception"]


@BOTH_BACKENDS
def test_a_run_that_failed_after_sending_says_which_orders_left(trading):
    t = trading(workers=2)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # IB Gateway restarts as the order arrives: the connection drops after placeOrder left the service
    t.simulator.admin("POST", "/faults", {"kind": "restart", "when": "next-order", "seconds": 1})

    status, body = t.post("allocation", DUMMY)
    assert status == 503, body
    assert body["ordersSent"] == 1, body
    [order] = body["orders"]
    assert (order["action"], order["quantity"], order["source"]) == ("BUY", 2, {"dummy": 2})
    [activity] = t.activity("allocation")
    assert activity["status"] == "failed" and activity["ordersSent"] == 1
    assert activity["orders"] == body["orders"]
    [record] = t.open_order_records()
    assert (record["orderId"], record["clientId"]) == (order["orderId"], order["clientId"])
