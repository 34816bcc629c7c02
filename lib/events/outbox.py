"""The outbox: every event is a document written in the same store transaction as the change it reports, with a
stable id, so that a change committed is an event committed and a transaction retried writes the same event again.

Paths: `events/{eventId}`. Each event document holds its `kind`, `at` (ISO-8601 UTC), `mode`, `data` and, per
delivery channel (`CHANNELS`), a state: "pending" until a sender claims it, "leased" while one delivers it (until
`leases.{channel}`, after which another sender may take it over: the worker that held it died, or the delivery
failed and waits out its backoff), then "sent" or "skipped". The documents stay as the service's event log.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

COLLECTION = "events"
CHANNELS = ("pubsub", "webhook")
PENDING, LEASED, SENT, SKIPPED = "pending", "leased", "sent", "skipped"


@dataclass(frozen=True)
class Event:
    """One outbox document as senders see it."""

    id: str
    kind: str
    at: str
    mode: str
    data: dict
    attempts: int = 0

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "at": self.at, "mode": self.mode, "data": self.data}


def event_path(event_id: str) -> str:
    return f"{COLLECTION}/{event_id}"


def stable_id(*parts: Any) -> str:
    """An event id from the parts that identify what happened (a document id cannot hold `/`)."""
    return "-".join(str(part) for part in parts).replace("/", "_")


def _document(kind: str, event_id: str, data: dict, at: str, mode: str) -> dict:
    return {"kind": kind, "id": event_id, "at": at, "mode": mode, "data": data,
            "delivery": {channel: PENDING for channel in CHANNELS}, "attempts": {channel: 0 for channel in CHANNELS}}


def emit(tx, kind: str, event_id: str, data: dict, *, at: str, mode: str) -> None:
    """Write an event in the transaction `tx` whose changes it reports. A transaction the store runs again writes
    the same document again: the id says which change it reports, so the event exists once."""
    tx.set(event_path(event_id), _document(kind, event_id, data, at, mode))


def emit_once(tx, kind: str, event_id: str, data: dict, *, at: str, mode: str) -> bool:
    """`emit` unless an event with this id exists already (an alert raised once however often its condition is
    seen). Reads, so call it before the transaction's first write. Returns whether it wrote."""
    if tx.get(event_path(event_id)) is not None:
        return False
    emit(tx, kind, event_id, data, at=at, mode=mode)
    return True


def record_once(store, kind: str, event_id: str, data: dict, *, at: str, mode: str) -> bool:
    """An event that is itself the change (an alert): `emit_once` in a transaction of its own."""
    return store.run_transaction(lambda tx: emit_once(tx, kind, event_id, data, at=at, mode=mode))


def claim(store, channel: str, mode: str, now: datetime, lease_s: float, limit: int) -> list[Event]:
    """Lease up to `limit` events of `mode` that `channel` has not delivered: pending ones and those whose lease ran
    out, oldest first, in one transaction, so that two workers never deliver the same event at the same time."""
    now_text = now.isoformat()
    until = (now + timedelta(seconds=lease_s)).isoformat()

    def work(tx):
        pending = tx.query(COLLECTION, where=[("mode", "==", mode), (f"delivery.{channel}", "==", PENDING)],
                           limit=limit)
        leased = tx.query(COLLECTION, where=[("mode", "==", mode), (f"delivery.{channel}", "==", LEASED)])
        expired = [doc for doc in leased if doc.data.get("leases", {}).get(channel, "") <= now_text]
        batch = sorted(pending + expired, key=lambda doc: (doc.data["at"], doc.id))[:limit]
        for doc in batch:
            tx.update(doc.path, {f"delivery.{channel}": LEASED, f"leases.{channel}": until})
        return [Event(doc.id, doc.data["kind"], doc.data["at"], doc.data.get("mode", ""), doc.data.get("data", {}),
                      doc.data.get("attempts", {}).get(channel, 0)) for doc in batch]

    return store.run_transaction(work)


def delivered(store, channel: str, event_id: str, outcome: str, now: datetime) -> None:
    """Mark an event delivered (`SENT`) or deliberately not (`SKIPPED`) on a channel."""
    store.update(event_path(event_id), {f"delivery.{channel}": outcome, f"deliveredAt.{channel}": now.isoformat()})


def failed(store, channel: str, event: Event, now: datetime, retry_in_s: float, error: str) -> None:
    """Keep the event leased until `retry_in_s` from now: a failed delivery is tried again after its backoff."""
    store.update(event_path(event.id), {f"leases.{channel}": (now + timedelta(seconds=retry_in_s)).isoformat(),
                                        f"attempts.{channel}": event.attempts + 1,
                                        f"lastError.{channel}": error[:500]})
