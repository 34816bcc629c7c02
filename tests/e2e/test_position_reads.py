"""Finding 10 end to end: a contract counted twice in IB's positions answer while fills keep landing."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ib_async import MarketOrder, Stock

from tests.support.run_outcomes import one_done_the_rest_turned_away
from tests.support.allocation import SPY
from tests.support.macd_series import crossover_closes
from tests.support.simulator_process import wait_until

LATENCY_MS = 300
# pieces land faster than a snapshot takes, so every snapshot's positions request overlaps a position update
FILL_DELAY_MS = 120
# and keep landing for about 3.5 s, well past the reconciliation (0.4 s on an idle machine, more on a busy one)
PIECES = 30


def test_fills_landing_during_reconciliation_are_not_counted_twice(trading, connect):
    """The day scenario: a person's SPY adopted into `manual`, two identical allocations at the same moment on two
    workers (one runs, one is a duplicate), a resting order filling in pieces while trade-reconciliation runs.

    reqPositions is a subscription (IB sends every position once, then updates as they change), and ib_async adds
    every position message that arrives while a positions request is open to that request's answer: an update
    pushed for a fill just before IB handled the request arrives after it was sent, and the contract is listed
    twice. Summed, the broker seemed to hold twice the position, in both snapshots while pieces kept landing.
    """
    t = trading(workers=2, simulator_options={"fill_delay_ms": FILL_DELAY_MS})
    person = connect(t.simulator)
    [spy] = person.qualifyContracts(Stock("SPY", "SMART", "USD"))
    person.placeOrder(spy, MarketOrder("BUY", 10))
    t.wait_filled({SPY: 10})
    status, adopted = t.post("reconcile", {"adopt": True})
    assert status == 200 and adopted["adopted"] == {"SPY": 10}, adopted

    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    body = {"strategies": ["spymacdvixy"], "orderProperties": {"limitOffsetPercent": -1}}
    start = threading.Barrier(2)

    def send(_):
        start.wait()
        return t.post("allocation", body)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(send, range(2)))
    assert one_done_the_rest_turned_away(answers), answers
    [order] = next(result for _, result in answers if result.get("status") == "done")["orders"]
    assert order["status"] in ("PreSubmitted", "Submitted") and order["quantity"] >= PIECES

    t.simulator.admin("POST", "/partial-fills", {"pieces": PIECES})
    t.simulator.admin("POST", "/latency", {"ms": LATENCY_MS})
    t.simulator.admin("POST", "/price/move", {"symbol": "SPY", "pct": -3})
    wait_until(lambda: any(e["con_id"] == SPY and e["order_id"] == order["orderId"]
                           for e in t.simulator.state()["executions"]), timeout_s=10, what="the first piece")
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert t.simulator.state()["open_orders"], "the pieces ended before the reconciliation: nothing was tested"
    t.wait_filled({SPY: 10 + order["quantity"]})
    t.simulator.admin("POST", "/latency", {"ms": 0})
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert t.holdings("spymacdvixy") == {SPY: order["quantity"]} and t.holdings("manual") == {SPY: 10}
