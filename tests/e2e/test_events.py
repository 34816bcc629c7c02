"""Events end to end: gunicorn's workers write events with their changes and deliver them to Google's Pub/Sub
emulator and to a local webhook; a worker killed between the commit and the publish loses and duplicates none."""
from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from ib_async import MarketOrder, Stock

from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.monitoring import counted
from tests.support.service_process import free_port
from tests.support.simulator_process import wait_until

SCHEDULER = {"User-Agent": "Google-Cloud-Scheduler", "X-CloudScheduler": "true",
             "X-CloudScheduler-JobName": "risk-check"}
DASHBOARD = "https://trading.example.test"


def outbox(t) -> list[dict]:
    return [doc.data for doc in t.store.query("events")]


def worker_pids(service) -> set[int]:
    return {entry["pid"] for entry in service.log_entries() if entry.get("event") == "gatewayReady"}


@pytest.mark.slow(seconds=17)
def test_a_worker_killed_between_commit_and_publish_loses_no_event_and_duplicates_none(
        trading, start_service, pubsub_topic, pubsub_emulator):
    # the topic is configured but unreachable: every publish fails after the events are committed
    unreachable = {"EVENTS_TOPIC": pubsub_topic.path, "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{free_port()}"}
    t = trading(workers=1, env=unreachable)
    status, _ = t.service.request("POST", "/risk-check", {}, headers=SCHEDULER)
    assert status == 409
    wait_until(lambda: any(e.get("attempts", {}).get("pubsub", 0) >= 1 for e in outbox(t)), timeout_s=30,
               what="a publish attempt that failed")
    assert all(e["delivery"]["pubsub"] != "sent" for e in outbox(t))
    pids = worker_pids(t.service)
    t.service._process.send_signal(signal.SIGKILL)
    t.service._process.wait(10)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)

    start_service(t.simulator, workers=2, log_name="restarted.log",
                  env={"EVENTS_TOPIC": pubsub_topic.path, "PUBSUB_EMULATOR_HOST": pubsub_emulator.address})
    # the sender leases what it publishes: the dead worker's lease runs out, then the new workers publish
    wait_until(lambda: all(e["delivery"]["pubsub"] == "sent" for e in outbox(t)), timeout_s=60,
               what="every event published")
    ids = {e["id"] for e in outbox(t)}
    received = pubsub_topic.collect(lambda messages: {m["attributes"]["eventId"] for m in messages} >= ids)
    assert Counter(m["attributes"]["eventId"] for m in received) == Counter(ids)
    [failed] = [m["data"] for m in received if m["attributes"]["kind"] == "run.failed"]
    assert failed["data"]["intent"] == "risk-check" and failed["data"]["trigger"]["kind"] == "scheduler"
    assert failed["data"]["exception"].startswith("PreconditionFailed")
    # deploy/monitoring's failed-run metric counts the scheduled run's line, once
    [line] = counted("run-failed", t.service.log_entries())
    assert line["intent"] == "risk-check" and line["activityId"] == failed["data"]["activityId"]


def test_each_alert_is_one_event_on_the_topic_and_one_message_at_the_webhook(
        trading, connect, pubsub_topic, pubsub_emulator, webhook_server):
    t = trading(workers=1, config={"notifications": {"webhookUrl": webhook_server.url},
                                   "maxDailyDrawdownPercent": 0.01},
                env={"EVENTS_TOPIC": pubsub_topic.path, "PUBSUB_EMULATOR_HOST": pubsub_emulator.address,
                     "DASHBOARD_URL": DASHBOARD, "GATEWAY_ALERT_AFTER_S": "1"})
    # a failed scheduled run: risk-check before the day's allocation
    assert t.service.request("POST", "/risk-check", {}, headers=SCHEDULER)[0] == 409
    # a drawdown past the limit
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    mnq = mnq_con_id(t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}}))
    t.wait_filled({mnq: 2})
    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": -2})
    status, risk = t.post("risk-check")
    assert status == 200 and risk["alertTriggered"], risk
    # seen again, by a scheduled run that succeeds: still one alert
    status, again = t.service.request("POST", "/risk-check", {}, headers=SCHEDULER)
    assert status == 200 and again["alertTriggered"], again
    # a rejected order
    t.simulator.admin("POST", "/reject-next", {"code": 201, "text": "Order rejected - reason:TEST REJECTION"})
    t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(-1)}})
    # a ledger difference: a person's trade
    person = connect(t.simulator)
    [aapl] = person.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    person.placeOrder(aapl, MarketOrder("BUY", 7))
    t.wait_filled({mnq: 2, aapl.conId: 7})
    assert t.post("trade-reconciliation")[0] == 500
    # a gateway that stays down
    t.simulator.stop()

    alerts = {"run.failed", "risk.alert", "order.rejected", "ledger.difference", "gateway.down"}
    wait_until(lambda: len(webhook_server.messages) >= len(alerts), timeout_s=60, what="five webhook messages")
    ids = {e["id"] for e in outbox(t)}
    received = pubsub_topic.collect(lambda messages: {m["attributes"]["eventId"] for m in messages} >= ids)
    kinds = Counter(m["attributes"]["kind"] for m in received
                    if m["attributes"]["kind"] != "run.failed" or m["data"]["data"]["trigger"]["kind"] == "scheduler")
    assert {kind: kinds[kind] for kind in alerts} == {kind: 1 for kind in alerts}
    assert Counter(m["attributes"]["eventId"] for m in received) == Counter(ids)

    texts = webhook_server.texts()
    assert len(texts) == 5, texts
    by_start = {kind: [text for text in texts if needle in text] for kind, needle in (
        ("run.failed", "Scheduled run risk-check failed: PreconditionFailed"),
        ("risk.alert", "past the 0.01% limit"),
        ("order.rejected", "Order SELL 4 MNQ"),
        ("ledger.difference", "AAPL ledger 0 broker 7"),
        ("gateway.down", "IB Gateway has not been ready"))}
    assert {kind: len(found) for kind, found in by_start.items()} == {kind: 1 for kind in alerts}, texts
    assert by_start["risk.alert"][0].startswith("[paper] ")
    rejecting = t.store.query("activity", where=[("intent", "==", "allocation")],
                              order_by=[("startedAt", "ASCENDING")])[-1].id
    assert by_start["order.rejected"][0].endswith(f"{DASHBOARD}/dashboard/runs/{rejecting}")
    assert f"{DASHBOARD}/dashboard/runs/" in by_start["run.failed"][0]
    assert all(message["content"] == message["text"] for message in webhook_server.messages)

    # each of deploy/monitoring's metrics counts a line the service wrote in its scenario, and only there
    lines = t.service.log_entries()
    seen = {metric: counted(metric, lines) for metric in (
        "run-failed", "run-succeeded", "risk-alert", "order-rejected", "ledger-difference", "gateway-down",
        "gateway-2fa")}
    assert [line["intent"] for line in seen["run-failed"]] == ["risk-check"]
    assert [line["intent"] for line in seen["run-succeeded"]] == ["risk-check"]
    assert len(seen["risk-alert"]) == 2 and all(line["riskCheck"]["alertTriggered"] for line in seen["risk-alert"])
    [rejected] = seen["order-rejected"]
    assert "TEST REJECTION" in rejected["error"]
    [difference] = seen["ledger-difference"]
    assert difference["differences"] == next(e["data"]["differences"] for e in outbox(t)
                                             if e["kind"] == "ledger.difference")
    assert len(seen["gateway-down"]) == 1 and seen["gateway-2fa"] == []
