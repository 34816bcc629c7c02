"""Guards against sending the same orders twice: duplicate-run claims and per-strategy locks.

Cloud Scheduler retries and people re-send requests. A run that may place orders first claims its signature; an
identical request inside the window finds the claim and places nothing. The claim is taken in a transaction, so
two identical requests arriving together on different workers cannot both win. A run that placed no order gives
its claim back, so it can simply be run again.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from lib.errors import PreconditionFailed

# a lock outlives its run's time budget by this much before another run may take it over
LOCK_MARGIN_S = 60.0


class RunClaims:
    """Claims under `runs/{mode}/{intent}/{signature}`.

    Args:
        store: a DocumentStore.
        mode: trading mode.
        intent: the intent's name.
    """

    def __init__(self, store, mode: str, intent: str):
        self.store = store
        self.collection = f"runs/{mode}/{intent}"

    def claim(self, signature: str, activity_id: str, now: datetime, window: timedelta) -> dict | None:
        """Take the claim for `signature`; returns the earlier run's claim instead when one holds it inside the
        window (a run still going, or one that placed orders)."""
        path = f"{self.collection}/{signature}"

        def take(tx):
            existing = tx.get(path)
            if existing is not None and now - datetime.fromisoformat(existing["claimedAt"]) < window:
                return existing
            tx.set(path, {"activityId": activity_id, "claimedAt": now.isoformat(), "status": "running",
                          "ordersPlaced": 0})
            return None

        return self.store.run_transaction(take)

    def finish(self, signature: str, activity_id: str, orders_placed: int, status: str) -> None:
        """Keep the claim when orders may have reached the broker; give it back otherwise."""
        path = f"{self.collection}/{signature}"

        def settle(tx):
            existing = tx.get(path)
            if existing is None or existing["activityId"] != activity_id:
                return
            if orders_placed:
                tx.update(path, {"status": status, "ordersPlaced": orders_placed})
            else:
                tx.delete(path)

        self.store.run_transaction(settle)


class StrategyLocks:
    """While one run sizes and sends orders for a strategy, no other run may do so for the same strategy.

    Two different requests naming the same strategy (Cloud Scheduler's and an operator's, say) would otherwise both
    read the same holdings and orders in flight, and both send the strategy's trades. Locks live under
    `runs/{mode}/strategyLocks/{strategy}`; a lock whose run died expires after its time-to-live.
    """

    def __init__(self, store, mode: str):
        self.store = store
        self.collection = f"runs/{mode}/strategyLocks"

    def acquire(self, strategies: list[str], holder: str, now: datetime, ttl: timedelta) -> dict[str, dict]:
        """Lock every strategy for `holder`, or none; returns the locks other runs hold (empty on success)."""
        paths = {strategy: f"{self.collection}/{strategy}" for strategy in strategies}

        def take(tx):
            held = {}
            for strategy, path in paths.items():
                lock = tx.get(path)
                if lock is not None and lock["holder"] != holder and now < datetime.fromisoformat(lock["expiresAt"]):
                    held[strategy] = lock
            if not held:
                for path in paths.values():
                    tx.set(path, {"holder": holder, "lockedAt": now.isoformat(), "expiresAt": (now + ttl).isoformat()})
            return held

        return self.store.run_transaction(take)

    @contextmanager
    def holding(self, strategies: list[str], holder: str, now: datetime, budget_s: float) -> Iterator[None]:
        """Hold the locks for a run with `budget_s` seconds left, releasing them when it ends.

        Raises:
            PreconditionFailed: another run holds one of them (HTTP 409); nothing is locked.
        """
        busy = self.acquire(strategies, holder, now, timedelta(seconds=budget_s + LOCK_MARGIN_S))
        if busy:
            raise PreconditionFailed(busy_message(busy))
        try:
            yield
        finally:
            self.release(strategies, holder)

    def release(self, strategies: list[str], holder: str) -> None:
        paths = [f"{self.collection}/{strategy}" for strategy in strategies]

        def drop(tx):
            mine = [path for path in paths if (tx.get(path) or {}).get("holder") == holder]
            for path in mine:
                tx.delete(path)

        self.store.run_transaction(drop)


def busy_message(held: dict[str, dict]) -> str:
    listed = "; ".join(f"{strategy} by run {lock['holder']} since {lock['lockedAt']}" for strategy, lock in held.items())
    return f"another run is trading the same strategies ({listed}); nothing placed, try again once it has finished"
