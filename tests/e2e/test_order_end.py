"""Finding 1 end to end: an order's end comes only from IB, never from an error event (a phantom cancel)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from strategies.dummy import WEIGHTS
from tests.support.allocation import MNQ_PRICE, mnq_con_id

LONG_SEEDS = [seed for seed in range(100) if random.Random(seed).choice(WEIGHTS) == 1]


def test_an_order_that_keeps_working_after_a_warning_is_not_cancelled_nor_sent_again(trading):
    """IB answers the order with error 10349 ("Order TIF was set to DAY based on order preset"), and ib_async
    0.9.86 marks it Cancelled locally; IB keeps working it and fills it."""
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/faults", {"kind": "order-warning", "code": 10349})
    # held until a minute from now (PreSubmitted): the warning is the last word on the order for that minute
    now = datetime.fromisoformat(t.simulator.state()["clock"]["now"])
    held = {"goodAfterTime": (now + timedelta(seconds=60)).strftime("%Y%m%d-%H:%M:%S")}
    first = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEEDS[0]}},
                       orderProperties=held)
    mnq = mnq_con_id(first)
    [order] = first["orders"]
    assert order["status"] in ("PreSubmitted", "Submitted"), order
    [record] = t.open_order_records()
    assert record["orderId"] == order["orderId"] and record["source"] == {"dummy": 2}
    assert order["ended"] is False and [w["code"] for w in order["warnings"]] == [10349]

    # the next allocation sees the order in flight and sends nothing again
    second = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEEDS[1]}},
                        orderProperties=held)
    assert second["strategies"]["dummy"]["inFlight"] == {str(mnq): 2}
    assert second["orders"] == []
    assert len(t.broker_orders()) == 1

    t.simulator.admin("POST", "/clock/step", {"seconds": 120})
    t.wait_filled({mnq: 2})
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert body["unmatchedExecutions"] == []
    assert t.holdings("dummy") == {mnq: 2} and t.open_order_records() == []


def test_an_order_ib_holds_inactive_and_revives_stays_in_flight(trading):
    """IB holds the order Inactive with 404 "Order held while securities are located", then works and fills it."""
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/faults", {"kind": "inactive-then-active", "inactive_s": 1})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": LONG_SEEDS[0]}})
    mnq = mnq_con_id(result)
    [order] = result["orders"]
    assert order["ended"] is False, order
    t.wait_filled({mnq: 2})
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert body["unmatchedExecutions"] == []
    assert t.holdings("dummy") == {mnq: 2} and t.open_order_records() == []
