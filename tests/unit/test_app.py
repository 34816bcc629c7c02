"""HTTP contract of main.create_app, with an in-memory store and a bridge stand-in (no IB involved)."""
from typing import Any

import pytest

from intents.base import Intent, IntentParams, OrderParams, signature
from lib import deadline
from lib.config import Settings
from lib.params import absent
from lib.services import Services
from lib.store.memory import MemoryStore
from lib.store.errors import Contention
from main import create_app
from tests.support.fake_bridge import FakeBridge


class EchoParams(IntentParams):
    x: Any = absent()


class Echo(Intent):
    name = "echo"
    Params = EchoParams

    def execute(self, params, config, deadline):
        return {"params": params}


class TradeParams(OrderParams):
    size: Any = absent()


class Trade(Intent):
    name = "trade"
    Params = TradeParams
    places_orders = True

    def execute(self, params, config, deadline):
        if params.get("size") == "boom":
            raise RuntimeError("exchange on fire")
        return {"placed": params.get("size", 0)}


async def never_answered(ib):
    raise AssertionError("the fake broker answers this read itself")


class Slow(Intent):
    name = "slow"

    def execute(self, params, config, deadline):
        return self.bridge.run(never_answered, timeout_s=deadline.remaining_s())


class Contended(Intent):
    name = "contended"
    records_activity = True

    def execute(self, params, config, run_deadline):
        raise Contention("Firestore could not commit a transaction: still contended", retry_after_s=2)


class Budget(Intent):
    name = "budget"

    def execute(self, params, config, run_deadline):
        # the store learns the run's deadline from the context
        return {"same": deadline.current() is run_deadline, "budget": deadline.current().budget_s}


INTENTS = {cls.name: cls for cls in (Echo, Trade, Slow, Contended, Budget)}


@pytest.fixture
def store():
    store = MemoryStore()
    store.set("config/paper", {"tradingEnabled": True, "retryCheckMinutes": 5})
    return store


@pytest.fixture
def bridge():
    return FakeBridge(silent=frozenset({never_answered}))


@pytest.fixture
def client(store, bridge):
    services = Services(Settings(service_revision="rev-1"), store=store, bridge=bridge)
    app = create_app({"TESTING": True}, services=services, intents=INTENTS)
    return app.test_client()


def test_result_carries_utc_timestamp_and_query_params(client):
    response = client.get("/echo?x=1")
    assert response.status_code == 200
    assert response.json["params"] == {"x": "1"}
    assert response.json["utcTimestamp"].endswith("+00:00")


def test_json_body_and_query_together_give_the_parameters(client):
    assert client.post("/echo?x=1", json={}).json["params"] == {"x": "1"}
    assert client.post("/echo", json={"x": [1, 2]}).json["params"] == {"x": [1, 2]}


def test_a_parameter_in_both_query_and_body_is_refused(client):
    response = client.post("/echo?x=1", json={"x": [1, 2]})
    assert response.status_code == 400
    assert "parameter(s) x given both in the query string and in the body" in response.json["error"]


def test_unknown_intent_is_404(client):
    response = client.post("/nope")
    assert response.status_code == 404
    assert response.json == {"error": "NotFound: unknown intent 'nope'"}


@pytest.mark.parametrize("body, fragment", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"y": 1}', "unknown parameter(s) for 'echo': y"),
    (b'{"timeoutSeconds": -1}', "timeoutSeconds"),
    (b'{"timeoutSeconds": "soon"}', "timeoutSeconds"),
])
def test_bad_requests_are_400_with_the_reason(client, body, fragment):
    response = client.post("/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"].startswith("BadRequest: ")
    assert fragment in response.json["error"]


def test_failure_is_500_with_class_and_message_and_no_trace(client, store):
    response = client.post("/trade", json={"size": "boom", "force": True})
    assert response.status_code == 500
    assert response.json == {"error": "RuntimeError: exchange on fire"}
    [activity] = store.query("activity")
    assert activity.data["status"] == "failed"
    assert activity.data["exception"] == "RuntimeError: exchange on fire"


def test_order_capable_run_leaves_activity_with_signature(client, store):
    response = client.post("/trade", json={"size": 3, "force": True})
    assert response.status_code == 200
    [activity] = store.query("activity")
    data = activity.data
    assert data["intent"] == "trade" and data["status"] == "done"
    assert data["parameters"] == {"size": 3}
    assert data["result"] == {"placed": 3}
    assert data["tradingMode"] == "paper"
    assert data["signature"] == signature("trade", {"size": 3})
    assert data["serviceRevision"] == "rev-1"
    assert data["startedAt"] <= data["finishedAt"]


def test_read_only_runs_leave_no_activity(client, store):
    assert client.get("/echo").status_code == 200
    assert store.query("activity") == []


def test_kill_switch_refuses_order_capable_intents_only(client, store):
    store.set("config/paper", {"tradingEnabled": False})
    response = client.post("/trade", json={"size": 1})
    assert response.status_code == 403
    assert "tradingEnabled=False" in response.json["error"]
    assert store.query("activity") == []
    assert client.get("/echo").status_code == 200


def test_missing_kill_switch_key_is_named(client, store):
    store.set("config/paper", {})
    response = client.post("/trade")
    assert response.status_code == 500
    assert "'tradingEnabled'" in response.json["error"]


def test_live_mode_needs_a_live_config_document(store, bridge):
    store.set("config/common", {"tradingEnabled": True})
    services = Services(Settings(trading_mode="live", ib_port=4001), store=store, bridge=bridge)
    client = create_app({"TESTING": True}, services=services, intents=INTENTS).test_client()
    response = client.post("/trade")
    assert response.status_code == 403
    assert "config/live" in response.json["error"]


def test_time_budget_exceeded_is_504(client):
    response = client.post("/slow", json={"timeoutSeconds": 5})
    assert response.status_code == 504
    prefix = "GatewayTimeout: gave up after "
    assert response.json["error"].startswith(prefix)
    assert 4.9 < float(response.json["error"][len(prefix):].split()[0]) <= 5


def test_store_contention_is_503_with_retry_after_and_the_run_is_recorded_as_failed(client, store):
    response = client.post("/contended")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json["error"].startswith("Contention: Firestore could not commit")
    [activity] = [doc.data for doc in store.query("activity")]
    assert activity["status"] == "failed" and activity["exception"].startswith("Contention: ")


def test_the_run_deadline_is_the_current_one_while_the_intent_runs(client):
    response = client.post("/budget", json={"timeoutSeconds": 7})
    assert response.json["same"] is True and response.json["budget"] == 7
    assert deadline.current() is None


def test_gateway_not_ready_is_503(store):
    services = Services(Settings(ready_wait_s=0.01), store=store, bridge=FakeBridge(ready=False))
    client = create_app({"TESTING": True}, services=services, intents=INTENTS).test_client()
    assert client.get("/readyz").status_code == 503
    response = client.get("/echo")
    assert response.status_code == 503
    assert response.json["error"].startswith("GatewayUnavailable: ")


def test_a_bad_request_is_400_even_while_the_gateway_is_away(store):
    services = Services(Settings(ready_wait_s=0.01), store=store, bridge=FakeBridge(ready=False))
    client = create_app({"TESTING": True}, services=services, intents=INTENTS).test_client()
    response = client.get("/echo?y=1")
    assert response.status_code == 400
    assert "unknown parameter(s) for 'echo': y" in response.json["error"]


def test_bridge_not_started_is_503(store):
    client = create_app({"TESTING": True}, services=Services(Settings(), store=store), intents=INTENTS).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.get("/echo").status_code == 503


def test_healthz_needs_no_gateway(store):
    client = create_app({"TESTING": True}, services=Services(Settings(), store=store), intents=INTENTS).test_client()
    assert client.get("/healthz").json == {"status": "alive"}



def test_live_orders_without_max_order_notional_are_refused_naming_the_key(store, bridge):
    store.set("config/live", {"tradingEnabled": True, "retryCheckMinutes": 5})
    services = Services(Settings(trading_mode="live", ib_port=4001), store=store, bridge=bridge)
    client = create_app({"TESTING": True}, services=services, intents=INTENTS).test_client()
    response = client.post("/trade", json={"size": 1, "force": True})
    assert response.status_code == 500
    assert "'maxOrderNotional'" in response.json["error"]
    assert store.query("activity") == []
