"""A run that failed or died with orders possibly sent is settled by IB's own lists, by the run's orderRef: orders
IB has make the retry a duplicate, none make the claim void so that the retry trades (finding 5: a retry answered
"duplicate" although no order had reached IB, and the day's trade was missed). Runs that died with the whole process
group, at several points of the send, are in test_crash_recovery.py."""
from __future__ import annotations

from tests.support.allocation import MNQ_PRICE, seed_for
from tests.support.simulator_process import wait_until

DUMMY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}


def test_a_retry_trades_when_the_failed_runs_orders_never_reached_ib(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # IB Gateway restarts as the order arrives: IB never gets it, and the run fails after sending
    t.simulator.admin("POST", "/faults", {"kind": "restart", "when": "next-order", "seconds": 1})
    status, failed = t.post("allocation", DUMMY)
    assert status == 503 and failed["ordersSent"] == 1, failed
    wait_until(lambda: t.service.request("GET", "/readyz", timeout_s=5)[0] == 200, timeout_s=30,
               what="the worker to reconnect")

    status, retry = t.post("allocation", DUMMY)

    assert status == 200 and retry["status"] == "done", retry
    [order] = retry["orders"]
    t.wait_filled({order["conId"]: 2})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {order["conId"]: 2} and t.open_order_records() == []
    status, again = t.post("allocation", DUMMY)
    assert status == 200 and again["status"] == "duplicate", again

