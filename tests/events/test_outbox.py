"""The outbox: events committed with their change, delivered on each channel once per id, retried after failures,
taken over from a sender that died; the gateway's outages as one event whichever worker sees them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from lib.events import outbox
from lib.events.gateway_watch import GatewayWatch
from lib.events.pubsub import PubSubPublisher
from lib.events.sender import LEASE_S, OutboxSender, backoff_s
from lib.store.memory import MemoryStore
from lib.store.sqlite import SqliteStore
from tests.support.clock import NOW


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now

    def step(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def emit_with_change(store, event_id: str, *, fail: bool = False) -> None:
    def work(tx):
        tx.set(f"things/{event_id}", {"changed": True})
        outbox.emit(tx, "thing.changed", event_id, {"thing": event_id}, at=NOW.isoformat(), mode="paper")
        if fail:
            raise RuntimeError("the change failed")

    store.run_transaction(work)


def test_an_event_exists_exactly_when_its_change_was_committed():
    store = MemoryStore()
    emit_with_change(store, "a")
    with pytest.raises(RuntimeError):
        emit_with_change(store, "b", fail=True)
    assert store.get("events/a")["delivery"] == {"pubsub": "pending", "webhook": "pending"}
    assert store.get("events/b") is None and store.get("things/b") is None


def test_emit_once_keeps_the_first_event_of_an_id():
    store = MemoryStore()
    assert outbox.record_once(store, "risk.alert", "r1", {"n": 1}, at=NOW.isoformat(), mode="paper")
    assert not outbox.record_once(store, "risk.alert", "r1", {"n": 2}, at=NOW.isoformat(), mode="paper")
    assert store.get("events/r1")["data"] == {"n": 1}


def test_each_event_is_published_once_with_its_id_as_an_attribute(pubsub_topic, tmp_path):
    store = SqliteStore(str(tmp_path / "store.sqlite3"))
    try:
        for event_id in ("e1", "e2", "e3"):
            emit_with_change(store, event_id)
        sender = OutboxSender(store, "pubsub", "paper", PubSubPublisher(pubsub_topic.path))
        assert sender.drain_once() == 3
        assert sender.drain_once() == 0
        received = pubsub_topic.collect(lambda messages: len(messages) >= 3)
        assert sorted(m["attributes"]["eventId"] for m in received) == ["e1", "e2", "e3"]
        assert {m["attributes"]["kind"] for m in received} == {"thing.changed"}
        assert received[0]["data"]["data"] == {"thing": received[0]["attributes"]["eventId"]}
        assert {store.get(f"events/{i}")["delivery"]["pubsub"] for i in ("e1", "e2", "e3")} == {"sent"}
        # the webhook channel keeps its own state: nothing was sent there
        assert store.get("events/e1")["delivery"]["webhook"] == "pending"
    finally:
        store.close()


def test_a_failed_delivery_is_retried_after_its_backoff_and_never_raised():
    store, clock, tries = MemoryStore(), Clock(), []

    def flaky(event):
        tries.append(event.id)
        if len(tries) == 1:
            raise ConnectionError("topic unreachable")
        return outbox.SENT

    emit_with_change(store, "e1")
    sender = OutboxSender(store, "pubsub", "paper", flaky, clock=clock)
    assert sender.drain_once() == 1
    assert store.get("events/e1")["delivery"]["pubsub"] == "leased"
    assert store.get("events/e1")["lastError"]["pubsub"] == "ConnectionError: topic unreachable"
    clock.step(backoff_s(0) - 0.5)
    assert sender.drain_once() == 0
    clock.step(1)
    assert sender.drain_once() == 1
    assert tries == ["e1", "e1"] and store.get("events/e1")["delivery"]["pubsub"] == "sent"


def test_a_sender_that_died_holding_a_lease_is_taken_over_once_the_lease_runs_out():
    store, clock = MemoryStore(), Clock()
    emit_with_change(store, "e1")
    assert [e.id for e in outbox.claim(store, "pubsub", "paper", clock(), LEASE_S, 10)] == ["e1"]
    sent = []
    other = OutboxSender(store, "pubsub", "paper", lambda e: sent.append(e.id) or outbox.SENT, clock=clock)
    assert other.drain_once() == 0
    clock.step(LEASE_S)
    assert other.drain_once() == 1 and sent == ["e1"]


def test_senders_deliver_only_their_modes_events():
    store = MemoryStore()
    emit_with_change(store, "e1")
    assert outbox.claim(store, "pubsub", "live", NOW, LEASE_S, 10) == []


def test_a_gateway_down_past_the_threshold_is_one_event_for_every_worker_and_its_recovery_another():
    store, clock, status = MemoryStore(), Clock(), {"ready": True}
    first, second = (GatewayWatch(store, "paper", lambda: dict(status), 300, clock=clock) for _ in range(2))
    assert first.check() is None and second.check() is None
    status.update(ready=False, lastError="connection refused")
    assert first.check() is None and second.check() is None
    clock.step(299)
    assert first.check() is None
    clock.step(1)
    assert first.check() == "gateway.down"
    assert second.check() is None and first.check() is None
    downs = store.query("events", where=[("kind", "==", "gateway.down")])
    assert len(downs) == 1 and downs[0].data["data"]["downForSeconds"] == 300
    assert downs[0].data["data"]["lastError"] == "connection refused"
    status.update(ready=True)
    assert second.check() == "gateway.up" and first.check() is None
    assert len(store.query("events", where=[("kind", "==", "gateway.up")])) == 1
