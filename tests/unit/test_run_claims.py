"""Duplicate-run claims and strategy locks on the stores with real transactions: SQLite, and Firestore on Google's
emulator (which locks what a transaction reads, so simultaneous claims contend as they do in production)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
import threading

import pytest

from lib.store.sqlite import SqliteStore
from lib.trading.run_claims import RunClaims, StrategyLocks
from tests.support.clock import NOW

WINDOW = timedelta(minutes=60)


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
        return claims.claim("sig", f"run-{n}", NOW, WINDOW)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(8)))
    assert results.count(None) == 1
    winner = f"run-{results.index(None)}"
    assert all(r["activityId"] == winner for r in results if r is not None)


def test_a_claim_without_orders_is_given_back_and_one_with_orders_holds_for_the_window(store):
    claims = RunClaims(store, "paper", "allocation")
    assert claims.claim("sig", "run-1", NOW, WINDOW) is None
    claims.finish("sig", "run-1", orders_placed=0, status="done")
    assert claims.claim("sig", "run-2", NOW, WINDOW) is None
    claims.finish("sig", "run-2", orders_placed=3, status="done")
    held = claims.claim("sig", "run-3", NOW + timedelta(minutes=59), WINDOW)
    assert held["activityId"] == "run-2" and held["ordersPlaced"] == 3
    assert claims.claim("sig", "run-4", NOW + timedelta(minutes=61), WINDOW) is None


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


def test_only_one_of_simultaneous_lockers_wins(store):
    locks = StrategyLocks(store, "paper")
    start = threading.Barrier(6)

    def lock(n):
        start.wait()
        return locks.acquire(["dummy"], f"run-{n}", NOW, WINDOW)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lock, range(6)))
    assert [r == {} for r in results].count(True) == 1
