"""The service backbone end to end: gunicorn over HTTP, the bridge over a real socket to the simulator, SQLite."""
from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from ib_async import MarketOrder, Stock
from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.support.simulator_process import wait_until


def test_readyz_and_healthz_once_the_gateway_is_synced(start_simulator, start_service):
    service = start_service(start_simulator())
    assert service.request("GET", "/healthz") == (200, {"status": "alive"})
    status, body = service.request("GET", "/readyz")
    assert status == 200
    assert body["connected"] is True and body["ready"] is True
    assert isinstance(body["pid"], int) and isinstance(body["clientId"], int)


def test_default_intent_reports_the_gateway_clock(start_simulator, start_service):
    service = start_service(start_simulator())
    status, body = service.request("GET", "/")
    assert status == 200, body
    assert body["gatewayTime"].startswith("2026-11-24T15:3")
    assert body["tradingMode"] == "paper"
    assert "utcTimestamp" in body


def test_summary_shows_another_clients_trade(start_simulator, start_service, connect):
    simulator = start_simulator()
    service = start_service(simulator)
    other = connect(simulator)
    [spy] = other.qualifyContracts(Stock("SPY", "SMART", "USD"))
    trade = other.placeOrder(spy, MarketOrder("BUY", 10, orderRef="by-hand"))
    wait_until(lambda: trade.isDone(), timeout_s=10, what="the SPY order to fill", pump=other.sleep)
    assert trade.orderStatus.status == "Filled"

    status, body = service.request("GET", "/summary")
    assert status == 200, body
    position = body["portfolio"]["SPY"]
    assert position["conId"] == 756733
    assert position["position"] == 10
    assert position["exposure"] == pytest.approx(10 * position["marketPrice"], rel=1e-6)
    [fill] = body["fills"]["SPY"]
    assert fill["side"] == "BOT" and fill["shares"] == 10 and fill["cumQuantity"] == 10
    assert fill["price"] == pytest.approx(trade.orderStatus.avgFillPrice)
    assert fill["commission"] > 0
    assert body["openTrades"] == {}
    net_liquidation = body["accountSummary"]["NetLiquidation"]["USD"]
    cash = body["accountSummary"]["CashBalance"]["USD"]
    assert cash == pytest.approx(1_000_000 - 10 * fill["price"] - fill["commission"], abs=0.01)
    assert net_liquidation == pytest.approx(cash + position["exposure"], abs=0.01)


def test_summary_lists_resting_orders_of_every_client(start_simulator, start_service, connect):
    from ib_async import LimitOrder

    simulator = start_simulator()
    service = start_service(simulator)
    other = connect(simulator)
    [aapl] = other.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    trade = other.placeOrder(aapl, LimitOrder("BUY", 3, 1.00, tif="GTC"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", timeout_s=10, what="the order to rest",
               pump=other.sleep)

    status, body = service.request("GET", "/summary")
    assert status == 200, body
    [resting] = body["openTrades"]["AAPL"]
    assert resting["status"] == "Submitted"
    assert resting["action"] == "BUY" and resting["totalQuantity"] == 3
    assert resting["orderType"] == "LMT" and resting["limitPrice"] == 1.0 and resting["tif"] == "GTC"


@pytest.mark.parametrize("method, path, kwargs, status, message", [
    ("GET", "/no-such-intent", {}, 404, "unknown intent"),
    ("POST", "/summary", {"raw": b"{not json"}, 400, "not valid JSON"),
    ("POST", "/summary", {"raw": b"[1, 2]"}, 400, "must be a JSON object"),
    ("GET", "/summary?colour=red", {}, 400, "unknown parameter(s) for 'summary': colour"),
    ("GET", "/summary?timeoutSeconds=-3", {}, 400, "timeoutSeconds"),
])
def test_bad_requests_get_clear_errors(start_simulator, start_service, method, path, kwargs, status, message):
    service = start_service(start_simulator())
    code, body = service.request(method, path, **kwargs)
    assert code == status
    assert message in body["error"]
    assert "Traceback" not in body["error"]


def test_thirty_two_concurrent_summaries_on_two_workers(start_simulator, start_service):
    service = start_service(start_simulator(), workers=2, threads=8)
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda _: service.request("GET", "/summary"), range(32)))
    assert [status for status, _ in results] == [200] * 32
    assert all("NetLiquidation" in body["accountSummary"] for _, body in results)


def test_time_budget_overrun_is_504(start_simulator, start_service):
    simulator = start_simulator()
    service = start_service(simulator)
    simulator.admin("POST", "/latency", {"ms": 7000})
    started = time.monotonic()
    status, body = service.request("GET", "/summary?timeoutSeconds=5")
    assert status == 504, body
    assert "GatewayTimeout" in body["error"]
    assert time.monotonic() - started < 9


def test_gateway_loss_is_503_quickly_and_the_service_recovers(start_simulator, start_service):
    simulator = start_simulator()
    service = start_service(simulator, workers=1)
    reconnects = service.reconnects()
    simulator.kill()

    service.poll(lambda: service.request("GET", "/readyz", timeout_s=5)[0] == 503, 15, "/readyz 503")
    started = time.monotonic()
    status, body = service.request("GET", "/summary", timeout_s=30)
    assert status == 503, body
    assert "GatewayUnavailable" in body["error"]
    assert time.monotonic() - started < 10

    simulator.restart()
    service.wait_reconnected(reconnects)
    status, body = service.request("GET", "/summary")
    assert status == 200, body


def test_sigterm_stops_gunicorn_cleanly_within_ten_seconds(start_simulator, start_service):
    service = start_service(start_simulator())
    assert service.request("GET", "/summary")[0] == 200
    code, seconds = service.terminate()
    assert code == 0
    assert seconds < 10
    assert "Traceback" not in service.log()


def raw_request(service, method: str, path: str, body: bytes = b"", content_type: str = "application/json"):
    """One request over a plain socket connection; returns (status, headers, decoded JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": content_type} if body else {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def test_each_limit_is_a_json_4xx_through_gunicorn(start_simulator, start_service):
    service = start_service(start_simulator())
    status, headers, body = raw_request(service, "POST", "/summary", b'{"x": "' + b"a" * 3_000_000 + b'"}')
    assert status == 413 and headers["Content-Type"] == "application/json"
    assert body["error"].startswith("RequestEntityTooLarge: the request body is larger than the limit of")
    status, _, body = raw_request(service, "POST", "/summary", b"[" * 5000 + b"]" * 5000)
    assert status == 400 and "nested deeper than 32 levels" in body["error"]
    status, _, body = raw_request(service, "POST", "/allocation", b"strategies=dummy",
                                  "application/x-www-form-urlencoded")
    assert status == 415 and body["error"].startswith("UnsupportedMediaType: ")
    status, headers, body = raw_request(service, "DELETE", "/allocation")
    assert status == 405 and body["error"].startswith("MethodNotAllowed: ")
    assert {"GET", "POST"} <= {method.strip() for method in headers["Allow"].split(",")}
    status, _, body = raw_request(service, "POST", "/summary", b'{"timeoutSeconds": 5, "timeoutSeconds": 6}')
    assert status == 400 and "appears twice" in body["error"]
    assert service.request("GET", "/summary")[0] == 200
    assert "Traceback" not in service.log()


def test_openapi_json_is_served_and_validates(start_simulator, start_service):
    service = start_service(start_simulator())
    status, document = service.request("GET", "/openapi.json")
    assert status == 200
    OpenAPIV31SpecValidator(document).validate()
    assert set(document["paths"]) >= {"/", "/summary", "/allocation", "/healthz", "/readyz", "/openapi.json"}
