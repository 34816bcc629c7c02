"""Webhook notifications against a local HTTP server: only the kinds worth a message, retried with backoff while
the webhook refuses, one JSON body Slack, Discord and Telegram read."""
from __future__ import annotations

import pytest

from lib.events import outbox
from lib.events.sender import OutboxSender, backoff_s
from lib.notify.webhook import WebhookNotifier
from lib.store.memory import MemoryStore
from tests.events.test_outbox import Clock
from tests.support.clock import NOW


def store_with(config: dict) -> MemoryStore:
    store = MemoryStore()
    store.set("config/common", {"notifications": config})
    return store


def record(store, kind: str, event_id: str, data: dict) -> None:
    outbox.record_once(store, kind, event_id, data, at=NOW.isoformat(), mode="paper")


@pytest.mark.parametrize("webhook_server", [{"failures": 2}], indirect=True)
def test_a_refused_message_is_sent_again_after_its_backoff(webhook_server):
    store, clock = store_with({"webhookUrl": webhook_server.url, "telegramChatId": "-100"}), Clock()
    record(store, "risk.alert", "r1", {"drawdownPercent": 6.5, "maxDailyDrawdownPercent": 5,
                                       "netLiquidation": 93_500, "startOfDayNetLiquidation": 100_000,
                                       "activityId": "A" * 20})
    notifier = WebhookNotifier(store, "paper", "https://svc.example", clock=clock)
    sender = OutboxSender(store, "webhook", "paper", notifier, clock=clock, enabled=notifier.configured)
    for attempt in range(2):
        assert sender.drain_once() == 1
        assert webhook_server.refused == attempt + 1 and webhook_server.messages == []
        clock.step(backoff_s(attempt))
    assert sender.drain_once() == 1
    [message] = webhook_server.messages
    assert message["text"] == message["content"] and message["chat_id"] == "-100"
    assert message["text"].startswith("[paper] Drawdown 6.50% today is past the 5% limit (NetLiquidation 93,500.00")
    assert message["text"].endswith(" https://svc.example/dashboard/runs/" + "A" * 20)
    assert store.get("events/r1")["delivery"]["webhook"] == "sent"


def test_only_the_configured_kinds_and_scheduled_failures_are_messages(webhook_server):
    store = store_with({"webhookUrl": webhook_server.url})
    record(store, "fill", "f1", {"execId": "1"})
    record(store, "run.failed", "manual", {"intent": "reconcile", "trigger": {"kind": "manual"}})
    record(store, "run.failed", "scheduled", {"intent": "allocation", "trigger": {"kind": "scheduler"},
                                              "exception": "GatewayUnavailable: not ready"})
    notifier = WebhookNotifier(store, "paper", "", clock=Clock())
    assert OutboxSender(store, "webhook", "paper", notifier).drain_once() == 3
    assert webhook_server.texts() == ["[paper] Scheduled run allocation failed: GatewayUnavailable: not ready. Read "
                                      "the run, fix the cause, and run it again by hand if it must still happen today."]
    assert {i: store.get(f"events/{i}")["delivery"]["webhook"] for i in ("f1", "manual", "scheduled")} == {
        "f1": "skipped", "manual": "skipped", "scheduled": "sent"}


def test_without_a_webhook_events_wait():
    store = store_with({})
    record(store, "risk.alert", "r1", {})
    notifier = WebhookNotifier(store, "paper", "")
    assert OutboxSender(store, "webhook", "paper", notifier, enabled=notifier.configured).drain_once() == 0
    assert store.get("events/r1")["delivery"]["webhook"] == "pending"


def test_a_backlog_older_than_max_age_is_not_messaged(webhook_server):
    store = store_with({"webhookUrl": webhook_server.url, "maxAgeMinutes": 60})
    record(store, "risk.alert", "r1", {})
    clock = Clock()
    clock.step(3601)
    assert OutboxSender(store, "webhook", "paper", WebhookNotifier(store, "paper", "", clock=clock)).drain_once() == 1
    assert webhook_server.messages == [] and store.get("events/r1")["delivery"]["webhook"] == "skipped"
