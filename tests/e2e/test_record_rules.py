"""Finding 3 end to end: a record that never heard its permId (a silent order whose confirmation timed out) learns
it from its executions, and one with applied executions is never classed as never sent."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for

DUMMY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}


def test_a_record_without_a_perm_id_learns_it_from_its_fills_and_ends_as_ib_says(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # orders fill one piece per matching round, and IB says nothing at all about the next order
    t.simulator.admin("POST", "/fills", {"mode": "step"})
    t.simulator.admin("POST", "/partial-fills", {"pieces": 2})
    t.simulator.admin("POST", "/faults", {"kind": "silent-order"})
    result = t.allocate(**DUMMY, timeoutSeconds=6)
    mnq = mnq_con_id(result)
    [order] = result["orders"]
    assert order["permId"] == 0 and order["ended"] is False
    t.simulator.admin("POST", "/match", {"rounds": 1})
    [working] = t.simulator.state()["open_orders"]

    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert [a["split"] for a in body["applied"]] == [{"dummy": 1}]
    [record] = t.open_order_records()
    assert record["permId"] == working["perm_id"] and record["filled"] == 1

    # two minutes on (the record's age is the service's clock), the person cancels the rest in TWS
    key = f"positions/paper/openOrders/c{record['clientId']}-o{record['orderId']}"
    placed = datetime.fromisoformat(record["placedAt"]) - timedelta(minutes=3)
    t.store.set(key, {"placedAt": placed.isoformat()}, merge=True)
    t.simulator.admin("POST", "/orders/cancel", {"perm_id": working["perm_id"]})
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    [removed] = body["removedOrders"]
    assert removed["reason"] == "ended Cancelled" and removed["unfilled"] == {"dummy": 1}
    assert t.holdings("dummy") == {mnq: 1} and t.broker_positions() == {mnq: 1}
