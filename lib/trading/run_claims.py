"""Guards against sending the same orders twice: duplicate-run claims and per-strategy locks.

Cloud Scheduler retries and people re-send requests. A run that may place orders first claims its signature; an
identical request inside the window finds the claim and places nothing. The claim is taken in a transaction, so
two identical requests arriving together on different workers cannot both win. The claim counts the orders that
may have reached the broker, raised before they are recorded and lowered again for orders certainly never sent;
a run that ends with none gives its claim back, so it can simply be run again. A run that died keeps its claim
for the window when it may have sent orders; one that had sent none is taken over once its time budget is over.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from lib.config import DEFAULT_CLAIM_MARGIN_S
from lib.errors import PreconditionFailed, ServiceError


class ClaimLost(ServiceError):
    """The run's claim was taken over (the run outlived its time budget): it must not send anything."""


class RunClaim:
    """A claim this run holds: `runs/{mode}/{intent}/{signature}`.

    Args:
        store: a DocumentStore.
        path: the claim's document.
        activity_id: the run holding it.
    """

    def __init__(self, store, path: str, activity_id: str):
        self.store = store
        self.path = path
        self.activity_id = activity_id

    def expect_orders(self, count: int, order_ref: str) -> None:
        """Count `count` orders about to be recorded and sent under `order_ref`; call before recording them. The
        orderRef is what a later run asks IB for should this one die with orders possibly sent.

        Raises:
            ClaimLost: another run holds the claim now; nothing may be sent.
        """
        self._add(count, {"orderRef": order_ref})

    def withdraw_orders(self, count: int) -> None:
        """Orders counted by `expect_orders` that certainly never reached the broker."""
        self._add(-count)

    def _add(self, count: int, extra: dict | None = None) -> None:
        def add(tx):
            claim = tx.get(self.path)
            if claim is None or claim["activityId"] != self.activity_id:
                raise ClaimLost(f"the duplicate-run claim {self.path} is no longer held by run {self.activity_id}; "
                                "nothing sent")
            tx.update(self.path, {"ordersPlaced": max(0, claim.get("ordersPlaced", 0) + count), **(extra or {})})

        self.store.run_transaction(add)

    def finish(self, status: str) -> None:
        """Keep the claim, marked `status`, when orders may have reached the broker; give it back otherwise."""
        def settle(tx):
            claim = tx.get(self.path)
            if claim is None or claim["activityId"] != self.activity_id:
                return
            if claim.get("ordersPlaced", 0):
                tx.update(self.path, {"status": status})
            else:
                tx.delete(self.path)

        self.store.run_transaction(settle)


class RunClaims:
    """Claims under `runs/{mode}/{intent}/{signature}`.

    Args:
        store: a DocumentStore.
        mode: trading mode.
        intent: the intent's name.
        margin_s: how long a claim outlives its run's budget (the CLAIM_MARGIN_S setting).
    """

    def __init__(self, store, mode: str, intent: str, margin_s: float = DEFAULT_CLAIM_MARGIN_S):
        self.store = store
        self.collection = f"runs/{mode}/{intent}"
        self.margin_s = margin_s

    def claim(self, signature: str, activity_id: str, now: datetime, window: timedelta,
              budget_s: float) -> tuple[RunClaim | None, dict | None]:
        """Take the claim for `signature` for a run with `budget_s` seconds.

        Returns (the claim, None), or (None, the earlier run's claim) when that one holds it: inside the window,
        while it runs or when it may have placed orders.
        """
        path = f"{self.collection}/{signature}"

        def take(tx):
            existing = tx.get(path)
            if existing is not None and _holds(existing, now, window):
                return existing
            tx.set(path, _new_claim(activity_id, now, budget_s + self.margin_s))
            return None

        earlier = self.store.run_transaction(take)
        return (None, earlier) if earlier is not None else (RunClaim(self.store, path, activity_id), None)

    def take_over(self, signature: str, earlier: dict, activity_id: str, now: datetime,
                  budget_s: float) -> RunClaim | None:
        """Take the claim of a run that died with orders that IB says never reached it; None when the claim
        changed meanwhile (another run took it over first)."""
        path = f"{self.collection}/{signature}"

        def take(tx):
            current = tx.get(path)
            if current is None or current["activityId"] != earlier["activityId"]:
                return False
            tx.set(path, _new_claim(activity_id, now, budget_s + self.margin_s))
            return True

        return RunClaim(self.store, path, activity_id) if self.store.run_transaction(take) else None

    def mark_settled(self, signature: str, earlier: dict, found: int) -> None:
        """Record that IB holds `found` orders of a run that died: later identical runs are plain duplicates."""
        path = f"{self.collection}/{signature}"

        def mark(tx):
            current = tx.get(path)
            if current is not None and current["activityId"] == earlier["activityId"]:
                tx.update(path, {"status": "settled by the broker", "ordersPlaced": found})

        self.store.run_transaction(mark)


def _new_claim(activity_id: str, now: datetime, lasts_s: float) -> dict:
    return {"activityId": activity_id, "claimedAt": now.isoformat(), "status": "running",
            "runUntil": (now + timedelta(seconds=lasts_s)).isoformat(), "ordersPlaced": 0}


def in_progress(claim: dict, now: datetime) -> bool:
    """The run holding `claim` is still within its time budget (plus margin) and has not finished: its outcome is
    not known yet."""
    run_until = claim.get("runUntil")
    return claim["status"] == "running" and (run_until is None or now < datetime.fromisoformat(run_until))


def ambiguous(claim: dict, now: datetime) -> bool:
    """The run holding `claim` counted orders that may have reached IB and then failed (the connection dropped
    while sending, its budget ran out) or died (its budget and margin passed without it finishing): only IB can
    tell whether they did."""
    if not claim.get("ordersPlaced"):
        return False
    return claim["status"] == "failed" or (claim["status"] == "running" and not in_progress(claim, now))


def _holds(claim: dict, now: datetime, window: timedelta) -> bool:
    if now - datetime.fromisoformat(claim["claimedAt"]) >= window:
        return False
    # a run that died (or overran its budget) before sending anything leaves nothing a retry could duplicate
    run_until = claim.get("runUntil")
    abandoned = (claim["status"] == "running" and not claim.get("ordersPlaced")
                 and run_until is not None and now >= datetime.fromisoformat(run_until))
    return not abandoned


def duplicate_result(intent: str, earlier: dict, window: timedelta) -> dict:
    """The answer of a run that found an identical one inside the window."""
    state = ("is still running" if earlier["status"] == "running" and not earlier.get("ordersPlaced")
             else f"placed {earlier.get('ordersPlaced', 0)} order(s)")
    return {"status": "duplicate", "earlierActivityId": earlier["activityId"],
            "reason": f"an identical {intent} started at {earlier['claimedAt']} {state}; within "
                      f"retryCheckMinutes ({window.total_seconds() / 60:g}) nothing is placed again"}


class StrategyLocks:
    """While one run sizes and sends orders for a strategy, no other run may do so for the same strategy.

    Two different requests naming the same strategy (Cloud Scheduler's and an operator's, say) would otherwise both
    read the same holdings and orders in flight, and both send the strategy's trades. Locks live under
    `runs/{mode}/strategyLocks/{strategy}`; a lock whose run died expires after its time-to-live (the run's budget
    and `margin_s`).
    """

    def __init__(self, store, mode: str, margin_s: float = DEFAULT_CLAIM_MARGIN_S):
        self.store = store
        self.collection = f"runs/{mode}/strategyLocks"
        self.margin_s = margin_s

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
        busy = self.acquire(strategies, holder, now, timedelta(seconds=budget_s + self.margin_s))
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
