"""The duplicate-run guard: one claim per request signature, taken in a store transaction.

Cloud Scheduler retries and people re-send requests. A run that may place orders first claims its signature; an
identical request inside the window finds the claim and places nothing. The claim is taken in a transaction, so
two identical requests arriving together on different workers cannot both win. A run that placed no order gives
its claim back, so it can simply be run again.
"""
from __future__ import annotations

from datetime import datetime, timedelta


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
