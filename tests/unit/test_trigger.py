"""Who started a run, as its activity document records it: Cloud Scheduler (by the headers it sends) or a person."""
import pytest
from werkzeug.datastructures import Headers

from intents.base import Intent, OrderParams
from lib.config import Settings
from lib.http.trigger import from_headers
from lib.services import Services
from lib.store.memory import MemoryStore
from main import create_app
from tests.support.fake_bridge import FakeBridge

SCHEDULER = {"User-Agent": "Google-Cloud-Scheduler", "X-CloudScheduler": "true",
             "X-CloudScheduler-JobName": "ib-trading-allocation", "X-CloudScheduler-ScheduleTime": "2026-11-24T14:45:00Z"}


class Place(Intent):
    name = "place"
    Params = OrderParams
    places_orders = True

    def execute(self, params, config, deadline):
        return {"placed": 0}


@pytest.mark.parametrize("headers, trigger", [
    (SCHEDULER, {"kind": "scheduler", "jobName": "ib-trading-allocation", "scheduleTime": "2026-11-24T14:45:00Z"}),
    ({"User-Agent": "Google-Cloud-Scheduler"}, {"kind": "scheduler", "jobName": None, "scheduleTime": None}),
    ({"x-cloudscheduler": "TRUE", "X-CloudScheduler-JobName": "j"}, {"kind": "scheduler", "jobName": "j",
                                                                     "scheduleTime": None}),
    ({"User-Agent": "curl/8.5.0"}, {"kind": "manual", "userAgent": "curl/8.5.0"}),
    ({"X-CloudScheduler": "false", "User-Agent": "curl/8.5.0"}, {"kind": "manual", "userAgent": "curl/8.5.0"}),
    ({}, {"kind": "manual", "userAgent": None}),
])
def test_the_trigger_is_read_from_the_headers(headers, trigger):
    assert from_headers(Headers(headers)) == trigger


def test_a_header_value_is_kept_short():
    trigger = from_headers(Headers({"User-Agent": "x" * 5000}))
    assert trigger["userAgent"] == "x" * 200


@pytest.fixture
def served():
    store = MemoryStore()
    store.set("config/paper", {"tradingEnabled": True, "retryCheckMinutes": 5})
    services = Services(Settings(), store=store, bridge=FakeBridge())
    return create_app({"TESTING": True}, services=services, intents={"place": Place}).test_client(), store


@pytest.mark.parametrize("headers, kind", [(SCHEDULER, "scheduler"), ({"User-Agent": "curl/8.5.0"}, "manual")])
def test_each_activity_document_records_its_trigger(served, headers, kind):
    client, store = served
    assert client.post("/place", json={"force": True}, headers=headers).status_code == 200
    [activity] = store.query("activity")
    assert activity.data["trigger"] == from_headers(Headers(headers))
    assert activity.data["trigger"]["kind"] == kind


def test_a_run_started_outside_http_records_an_unknown_trigger():
    store = MemoryStore()
    store.set("config/paper", {"tradingEnabled": True, "retryCheckMinutes": 5})
    Place(bridge=FakeBridge(), store=store, settings=Settings()).run({"force": True})
    [activity] = store.query("activity")
    assert activity.data["trigger"] == {"kind": "unknown"}
