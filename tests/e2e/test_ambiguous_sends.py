"""A run that failed or died with orders possibly sent is settled by IB's own lists, by the run's orderRef: orders
IB has make the retry a duplicate, none make the claim void so that the retry trades (finding 5: a retry answered
"duplicate" although no order had reached IB, and the day's trade was missed)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

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


def test_after_a_crash_the_retry_waits_for_the_run_then_finds_its_order_at_ib_and_places_nothing(trading):
    """IB works and fills the order but sends no word about it (its confirmation is still awaited) when the whole
    process group is SIGKILLed. A retry while the dead run's budget lasts is told to try again (409, which Cloud
    Scheduler retries); once it has passed, IB's lists settle it: the order is there, so the retry is a duplicate
    and nothing trades twice."""
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/faults", {"kind": "silent-order"})
    body = {**DUMMY, "timeoutSeconds": 5}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(t.post, "allocation", body)
        wait_until(lambda: t.broker_orders(), timeout_s=10, what="the order at IB")
        t.service.kill()
        running.exception(timeout=10)
    t.service.start()
    t.service.wait_ready()

    status, early = t.post("allocation", body)
    assert status == 409 and "is still running" in early["error"], early
    [claim] = [doc.data for doc in t.store.query("runs/paper/allocation")]
    run_until = datetime.fromisoformat(claim["runUntil"])
    wait_until(lambda: datetime.now(timezone.utc) > run_until, timeout_s=90, what="the dead run's budget to pass")

    status, retry = t.post("allocation", body)

    assert status == 200 and retry["status"] == "duplicate", retry
    assert retry["settledByBroker"]["ordersAtIb"] == 1
    assert len(t.broker_orders()) == 1
    mnq = t.broker_orders()[0]["contract"]["con_id"]
    t.wait_filled({mnq: 2})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {mnq: 2}
