"""Contention: two gunicorn workers answering 16 simultaneous `trade-reconciliation` and `allocation` requests on
one store, with executions waiting to be applied. Every reconciliation races the others to apply the same
executions (the same marks, holdings and order records); the allocations race for the same duplicate-run claims
and strategy locks and read the records the reconciliations rewrite. On Firestore (Google's emulator, which locks
what a transaction reads and times contended locks out with ABORTED) the adapter's retries must absorb all of it:
no 500, and afterwards every execution applied exactly once and the ledger equal to the broker.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from tests.e2e.conftest import BOTH_BACKENDS
from tests.e2e.test_ledger_property import ledger_totals
from tests.support.allocation import MNQ_PRICE, seed_for
from tests.support.macd_series import crossover_closes
from tests.support.simulator_process import wait_until

REQUESTS = 16
CLIENT_TIMEOUT_S = 130
# the burst's allocations send passive limit orders (1 % away from the market): they rest instead of filling while
# reconciliations compare the ledger with the broker, so a difference can only come from the store
PASSIVE = {"limitOffsetPercent": -1}
ALLOCATIONS = [
    {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(-1)}}, "orderProperties": PASSIVE},
    {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(-1)}}, "orderProperties": PASSIVE},
    {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(0)}}, "orderProperties": PASSIVE},
    {"strategies": ["spymacdvixy"], "orderProperties": PASSIVE},
    {"strategies": ["spymacdvixy"], "orderProperties": PASSIVE},
    {"strategies": ["spymacdvixy", "dummy"], "strategyParams": {"dummy": {"seed": seed_for(0)}},
     "orderProperties": PASSIVE},
    {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}, "orderProperties": PASSIVE},
    {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}, "orderProperties": PASSIVE},
]


@BOTH_BACKENDS
def test_simultaneous_reconciliations_and_allocations_on_two_workers_lose_nothing(trading, connect):
    t = trading(workers=2, threads=8, simulator_options={"fill_delay_ms": 3})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    t.simulator.admin("POST", "/partial-fills", {"pieces": 3})
    # orders held until the clock moves, so their executions arrive after the allocation returned: nobody has
    # applied them when the burst starts
    now = datetime.fromisoformat(t.simulator.state()["clock"]["now"])
    held = {"goodAfterTime": (now + timedelta(seconds=60)).strftime("%Y%m%d-%H:%M:%S")}
    first = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                       orderProperties=held)
    assert len(first["orders"]) == 2
    t.simulator.admin("POST", "/clock/step", {"seconds": 120})
    wait_until(lambda: not t.simulator.state()["open_orders"], timeout_s=10, what="the held orders to fill")
    executions = len(t.simulator.state()["executions"])
    assert executions >= 4   # 3 pieces of the SPY order, 2 of the 2 MNQ contracts

    bodies = [("trade-reconciliation", {})] * (REQUESTS - len(ALLOCATIONS))
    bodies += [("allocation", body) for body in ALLOCATIONS]
    bodies = [bodies[i // 2] if i % 2 == 0 else bodies[len(bodies) - 1 - i // 2] for i in range(len(bodies))]
    start = threading.Barrier(len(bodies))
    took: dict[str, list[float]] = {"trade-reconciliation": [], "allocation": []}

    def send(request):
        intent, body = request
        start.wait()
        started = time.monotonic()
        # as long as the intents' own budgets (60 s, 120 s): contended requests wait for their turn
        status, result = t.service.request("POST", f"/{intent}", body, timeout_s=CLIENT_TIMEOUT_S)
        took[intent].append(round(time.monotonic() - started, 1))
        return intent, status, result

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        answers = list(pool.map(send, bodies))

    outcomes = Counter((intent, status, result.get("status", "")) for intent, status, result in answers)
    print(f"burst on {t.backend}: {dict(outcomes)}; seconds taken: {took}")
    assert [a for a in answers if a[1] >= 500] == [], outcomes
    for intent, status, result in answers:
        if intent == "trade-reconciliation":
            assert status == 200, result
        else:
            assert (status == 200 and result["status"] in ("done", "duplicate", "nothing to trade")
                    or status == 409), result
    assert sum(1 for intent, status, _ in answers if intent == "allocation" and status == 200) >= 1

    # every execution was applied exactly once, whichever request got there first
    marks = [doc.data for doc in t.store.query("positions/paper/executions")]
    assert len(marks) == executions
    assert all(sum(mark["split"].values()) == mark["shares"] for mark in marks)
    assert t.store.query("runs/paper/strategyLocks") == []
    assert all(doc.data["status"] != "running" for doc in t.store.query("runs/paper/allocation"))

    # the resting orders of the burst go away by hand; the ledger then agrees with the broker
    manual = connect(t.simulator)
    manual.reqGlobalCancel()
    wait_until(lambda: not t.simulator.state()["open_orders"], timeout_s=10, what="the global cancel",
               pump=manual.sleep)
    status, final = t.post("trade-reconciliation")
    assert status == 200, final
    broker = {con_id: int(quantity) for con_id, quantity in t.broker_positions().items()}
    assert broker and ledger_totals(t.store) == broker
    assert t.open_order_records() == []
    assert [doc.data for doc in t.store.query("positions/paper/executions")] == marks
