"""Finding 1 end to end: an order's end comes only from IB, never from an error event (a phantom cancel)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from strategies.dummy import WEIGHTS
from tests.support.allocation import MNQ_PRICE, mnq_con_id

LONG_SEEDS = [seed for seed in range(100) if random.Random(seed).choice(WEIGHTS) == 1]


@pytest.mark.parametrize("code", [10349, 399])
def test_an_order_that_keeps_working_after_a_warning_is_not_cancelled_nor_sent_again(trading, code):
    """IB answers the order with a notice and keeps working it, then fills it. ib_async 2.1 marks the order
    Cancelled locally on 10349 ("Order TIF was set to DAY based on order preset": not in its warning list,
    ib_async#217) and sets its own status "ValidationError" on 399 (in its warning list); neither is IB's word."""
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/faults", {"kind": "order-warning", "code": code})
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
    assert order["ended"] is False and [w["code"] for w in order["warnings"]] == [code]

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
