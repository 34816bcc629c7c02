"""Crash recovery (finding 5): gunicorn's whole process group SIGKILLed at several points of an allocation, as when
Cloud Run replaces the instance, started again on the same store and gateway, then the request retried as the
allocation job of `deploy/scheduler-jobs` retries it. Wherever the run died, the day's trade is done exactly once:
no contract traded twice, a request while the dead run's claim lasts answered 409, a retry after it 200, and the
ledger equal to the broker once reconciled.

The dead run's claim lasts its budget and the service's CLAIM_MARGIN_S. The request asks for the smallest budget it
may and the service runs with a short margin, so that a case waits seconds for the claim to run out rather than a
minute: what a request is answered depends on whether the claim has run out, not on how long it lasted. That
production's margin and budget still end before the job's retries do is the last test's part."""
from __future__ import annotations

from datetime import timedelta

import pytest

from intents.allocation import Allocation
from lib.config import DEFAULT_CLAIM_MARGIN_S
from tests.support.allocation import MNQ_PRICE, seed_for
from tests.support.crashes import StoreWriteLock, killed_during, scheduler_retries, shares_traded
from tests.support.scheduled_jobs import job, retry_delays

# dummy's target is 2 MNQ; a budget that a run slowed by the gateway latency below still fits in
BODY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}, "timeoutSeconds": 10}
TARGET = 2
# gives the test time to take the store's write lock between the run's records and IB's answer to its send
LATENCY_MS = 300
CLAIM_MARGIN_S = 20


def recorded_but_lost_on_the_way(t):
    """The run has recorded its order and counted it in its claim; the order never reaches IB (the fault is spent
    on it once the gateway has read it)."""
    t.simulator.admin("POST", "/faults", {"kind": "silent-order", "lost": True})
    return (lambda: t.open_order_records() and not t.simulator.admin("GET", "/faults")["armed"]), None


def at_ib_without_an_answer(t):
    """IB works (and fills) the order but sends no word about it: the run waits for its confirmation."""
    t.simulator.admin("POST", "/faults", {"kind": "silent-order"})
    return (lambda: t.broker_orders()), None


def answered_by_ib_before_it_is_recorded(t):
    """IB has answered the order (the run logged its answer), and the run is writing that answer to a store whose
    write lock someone else holds: nothing after the send is recorded, the run's finish included."""
    t.simulator.admin("POST", "/latency", {"ms": LATENCY_MS})
    lock = []

    def answered():
        if not lock:
            records = t.open_order_records()
            if records:
                lock.append(StoreWriteLock(t.store.path))
                # IB's answer is still on its way (LATENCY_MS): the record must not have it yet
                assert [r["permId"] for r in t.open_order_records()] == [0], records
            return False
        return any(e.get("event") == "ordersAnswered" for e in t.service.log_entries())

    def after_the_crash():
        lock[0].release()
        t.simulator.admin("POST", "/latency", {"ms": 0})

    return answered, after_the_crash


@pytest.mark.slow(seconds=30)
@pytest.mark.timeout(240)
@pytest.mark.parametrize("crash", [recorded_but_lost_on_the_way, at_ib_without_an_answer,
                                   answered_by_ib_before_it_is_recorded])
def test_an_allocation_killed_anywhere_trades_once_when_the_scheduler_retries_it(trading, crash):
    t = trading(workers=2, env={"CLAIM_MARGIN_S": str(CLAIM_MARGIN_S)})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    killed_at, after_the_crash = crash(t)

    died_at = killed_during(t, "allocation", BODY, killed_at, crash.__name__)
    if after_the_crash:
        after_the_crash()
    # someone sends the request again at once: the dead run may still have been sending, so they are told to come
    # back (as Cloud Scheduler's retries are while the claim lasts)
    status, early = t.post("allocation", BODY)
    assert status == 409 and "is still running" in early["error"], early
    [(status, settled)] = scheduler_retries(t, "allocation", BODY, died_at)
    reached_ib = crash is not recorded_but_lost_on_the_way
    if reached_ib:
        assert settled["status"] == "duplicate" and settled["settledByBroker"]["ordersAtIb"] == 1, settled
    else:
        assert settled["status"] == "done" and [o["quantity"] for o in settled["orders"]] == [TARGET], settled
    [mnq] = {o["contract"]["con_id"] for o in t.broker_orders()}
    t.wait_filled({mnq: TARGET})
    assert shares_traded(t) == {mnq: TARGET}
    assert len(t.broker_orders()) == 1
    status, reconciled = t.post("trade-reconciliation")
    assert status == 200, reconciled
    assert t.holdings("dummy") == {mnq: TARGET} and t.open_order_records() == []
    status, again = t.post("allocation", BODY)
    assert status == 200 and again["status"] == "duplicate", again
    assert shares_traded(t) == {mnq: TARGET}


def test_the_allocation_jobs_retries_reach_past_a_dead_runs_claim_at_the_default_budget():
    """In production the request carries no budget: the intent's default one and the margin must have passed by one
    of the retries, or a crash leaves the day's trade undone."""
    due = timedelta()
    past = []
    for delay in retry_delays(job("allocation")):
        due += timedelta(seconds=delay)
        past.append(due.total_seconds() > Allocation.timeout_s + DEFAULT_CLAIM_MARGIN_S)
    assert any(past) and not past[0], past
    assert "timeoutSeconds" not in job("allocation")["httpTarget"]["body"]
