"""Duplicate-run claims and strategy locks on the stores with real transactions: SQLite, and Firestore on Google's
emulator (which locks what a transaction reads, so simultaneous claims contend as they do in production)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
import threading

import pytest

from lib.store.sqlite import SqliteStore
from lib.config import DEFAULT_CLAIM_MARGIN_S
from lib.trading.run_claims import ClaimLost, RunClaims, StrategyLocks, ambiguous, in_progress
from tests.support.clock import NOW

WINDOW = timedelta(minutes=60)
BUDGET_S = 120.0


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def store(request, tmp_path):
    if request.param == "firestore":
        yield request.getfixturevalue("open_firestore")()
        return
    opened = SqliteStore(str(tmp_path / "store.sqlite3"))
    yield opened
    opened.close()


def test_only_one_of_many_simultaneous_claims_wins(store):
    claims = RunClaims(store, "paper", "allocation")
    start = threading.Barrier(8)

    def claim(n):
        start.wait()
        return claims.claim("sig", f"run-{n}", NOW, WINDOW, BUDGET_S)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(8)))
    winners = [n for n, (claim, _) in enumerate(results) if claim is not None]
    assert len(winners) == 1
    assert all(earlier["activityId"] == f"run-{winners[0]}" for claim, earlier in results if claim is None)


def test_a_claim_without_orders_is_given_back_and_one_with_orders_holds_for_the_window(store):
    claims = RunClaims(store, "paper", "allocation")
    first, _ = claims.claim("sig", "run-1", NOW, WINDOW, BUDGET_S)
    first.finish("done")
    second, _ = claims.claim("sig", "run-2", NOW, WINDOW, BUDGET_S)
    second.expect_orders(3, "allocation-run")
    second.finish("done")
    _, held = claims.claim("sig", "run-3", NOW + timedelta(minutes=59), WINDOW, BUDGET_S)
    assert held["activityId"] == "run-2" and held["ordersPlaced"] == 3 and held["status"] == "done"
    fourth, _ = claims.claim("sig", "run-4", NOW + timedelta(minutes=61), WINDOW, BUDGET_S)
    assert fourth is not None


def test_orders_withdrawn_before_sending_give_the_claim_back(store):
    claims = RunClaims(store, "paper", "allocation")
    claim, _ = claims.claim("sig", "run-1", NOW, WINDOW, BUDGET_S)
    claim.expect_orders(2, "allocation-run")
    claim.withdraw_orders(2)
    claim.finish("failed")
    assert store.get("runs/paper/allocation/sig") is None


@pytest.mark.parametrize("margin_s", [DEFAULT_CLAIM_MARGIN_S, 5.0])
def test_a_run_that_died_before_sending_is_taken_over_after_its_budget_and_margin(store, margin_s):
    claims = RunClaims(store, "paper", "allocation", margin_s)
    dead, _ = claims.claim("sig", "run-1", NOW, WINDOW, BUDGET_S)
    over = NOW + timedelta(seconds=BUDGET_S + margin_s)
    _, earlier = claims.claim("sig", "run-2", over - timedelta(seconds=1), WINDOW, BUDGET_S)
    assert earlier["activityId"] == "run-1" and earlier["status"] == "running"
    retry, _ = claims.claim("sig", "run-2", over, WINDOW, BUDGET_S)
    assert retry is not None
    with pytest.raises(ClaimLost):
        dead.expect_orders(1, "allocation-run")    # the overrunning run may no longer send
    dead.finish("failed")        # nor give back a claim that is not its own
    assert store.get("runs/paper/allocation/sig")["activityId"] == "run-2"


def test_a_run_that_died_after_counting_orders_keeps_its_claim_for_the_window(store):
    claims = RunClaims(store, "paper", "allocation")
    dead, _ = claims.claim("sig", "run-1", NOW, WINDOW, BUDGET_S)
    dead.expect_orders(1, "allocation-run")
    _, earlier = claims.claim("sig", "run-2", NOW + timedelta(minutes=59), WINDOW, BUDGET_S)
    assert earlier["activityId"] == "run-1" and earlier["ordersPlaced"] == 1


def test_strategy_locks_are_all_or_nothing_and_expire(store):
    locks = StrategyLocks(store, "paper")
    ttl = timedelta(minutes=2)
    assert locks.acquire(["dummy", "spymacdvixy"], "run-1", NOW, ttl) == {}
    held = locks.acquire(["dummy", "other"], "run-2", NOW, ttl)
    assert list(held) == ["dummy"] and held["dummy"]["holder"] == "run-1"
    assert store.get("runs/paper/strategyLocks/other") is None
    assert locks.acquire(["other"], "run-2", NOW, ttl) == {}
    assert locks.acquire(["dummy"], "run-3", NOW + timedelta(minutes=3), ttl) == {}   # run-1's lock expired
    locks.release(["dummy", "spymacdvixy"], "run-1")    # releases only what run-1 still holds
    assert store.get("runs/paper/strategyLocks/dummy")["holder"] == "run-3"
    assert store.get("runs/paper/strategyLocks/spymacdvixy") is None


def test_a_runs_strategy_locks_last_its_budget_and_margin(store):
    locks = StrategyLocks(store, "paper", margin_s=5.0)
    expires = NOW + timedelta(seconds=BUDGET_S + 5.0)
    with locks.holding(["dummy"], "run-1", NOW, BUDGET_S):
        assert list(locks.acquire(["dummy"], "run-2", expires - timedelta(seconds=1), WINDOW)) == ["dummy"]
        assert locks.acquire(["dummy"], "run-2", expires, WINDOW) == {}     # run-1 outlived them: taken over


def test_only_one_of_simultaneous_lockers_wins(store):
    locks = StrategyLocks(store, "paper")
    start = threading.Barrier(6)

    def lock(n):
        start.wait()
        return locks.acquire(["dummy"], f"run-{n}", NOW, WINDOW)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lock, range(6)))
    assert [r == {} for r in results].count(True) == 1


def test_which_earlier_runs_only_ib_can_settle():
    now = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    later = (now + timedelta(minutes=3)).isoformat()
    earlier = (now - timedelta(seconds=1)).isoformat()

    def claim(status, orders, run_until):
        return {"status": status, "ordersPlaced": orders, "runUntil": run_until, "claimedAt": now.isoformat()}

    assert in_progress(claim("running", 1, later), now) and not ambiguous(claim("running", 1, later), now)
    assert ambiguous(claim("running", 1, earlier), now)            # died with orders counted
    assert ambiguous(claim("failed", 2, later), now)               # failed after sending
    assert not ambiguous(claim("done", 2, later), now)             # finished: IB's answers are in the ledger
    assert not ambiguous(claim("running", 0, earlier), now)        # died before counting any: taken over as before
    assert not in_progress(claim("done", 0, later), now)
