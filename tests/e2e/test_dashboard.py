"""The dashboard's numbers as data, over HTTP against gunicorn and the simulator: what `GET /dashboard/data.json`
says after a day of runs (on SQLite and on Firestore), that it changes nothing, and that it degrades to the store's
view when the gateway is gone."""
from __future__ import annotations

import urllib.request

import pytest

from tests.e2e import dashboard_scenario
from tests.e2e.conftest import BOTH_BACKENDS
from tests.e2e.dashboard_scenario import PERSON_LIMIT, SCHEDULER_HEADERS
from tests.support.allocation import SPY
from tests.support.clock import NOW
from tests.support.simulator_process import wait_until


def data(t) -> dict:
    status, body = t.service.request("GET", "/dashboard/data.json")
    assert status == 200, body
    return body


def page(t, path: str = "/dashboard") -> tuple[int, dict, str]:
    with urllib.request.urlopen(t.service.url(path), timeout=30) as response:
        return response.status, dict(response.headers), response.read().decode()


@pytest.fixture
def scenario(trading, connect):
    return dashboard_scenario.build(trading(), connect)


@BOTH_BACKENDS
def test_the_numbers_match_the_broker_the_ledger_and_the_runs(scenario):
    s, t = scenario, scenario.t
    body = data(t)
    _, summary = t.service.request("GET", "/summary")

    assert body["trading"] == {"mode": "paper", "enabled": True, "reason": "tradingEnabled is true: runs may place "
                                                                           "orders"}
    assert body["gateway"]["connected"] and body["gateway"]["ready"] and not body["degraded"]
    assert body["gateway"]["brokerTime"] == NOW.isoformat()
    assert body["banner"] is None

    holdings = {p["strategy"]: p for p in body["strategies"]}
    [mnq] = holdings["dummy"]["holdings"]
    broker_mnq = summary["portfolio"][mnq["localSymbol"]]
    assert (mnq["conId"], mnq["quantity"]) == (s.mnq, 2)
    assert mnq["marketValue"] == pytest.approx(broker_mnq["exposure"])
    # the strategy's own cost basis (its fill prices); IB's account average cost also holds the commissions, so the
    # broker's PnL of this position, which only the strategy traded, is lower by them
    dummy_day = s.report["strategies"]["dummy"]
    assert dummy_day["commissions"] > 0 and dummy_day["realized"] == 0
    assert mnq["unrealizedPNL"] == pytest.approx(broker_mnq["unrealizedPNL"] + dummy_day["commissions"], abs=0.01)
    assert mnq["unrealizedPNL"] == pytest.approx(dummy_day["unrealized"], abs=0.01)
    assert body["dailyReport"]["day"] == s.report["day"] and body["dailyReport"]["differences"] == 1
    assert body["dailyReport"]["strategies"][0]["unrealizedPNL"] == dummy_day["unrealized"]
    assert holdings["spymacdvixy"]["holdings"] == []

    rows = {row["localSymbol"]: row for row in body["ledgerVsBroker"]["rows"]}
    assert body["ledgerVsBroker"]["source"] == "broker" and body["ledgerVsBroker"]["differences"] == 1
    assert rows["AAPL"] == {"conId": s.aapl, "localSymbol": "AAPL", "ledger": 0, "broker": 7, "difference": 7,
                            "differs": True}
    assert rows[mnq["localSymbol"]]["differs"] is False


def test_working_orders_tell_the_services_from_a_persons(scenario):
    s, t = scenario, scenario.t
    orders = data(t)["workingOrders"]
    assert orders["source"] == "broker"
    [service] = [o for o in orders["orders"] if o["owner"] == "service"]
    [person] = [o for o in orders["orders"] if o["owner"] == "other"]
    [placed] = s.resting["orders"]
    assert (service["permId"], service["conId"], service["limitPrice"]) == (placed["permId"], SPY,
                                                                            placed["limitPrice"])
    assert service["strategies"] == placed["source"] and service["listedByBroker"]
    assert service["activityId"] == placed["orderRef"].removeprefix("allocation-")
    assert (person["permId"], person["limitPrice"], person["orderRef"]) == (s.person_perm_id, PERSON_LIMIT, "by-hand")
    assert person["strategies"] == {} and person["activityId"] is None


def test_samples_start_of_day_and_drawdown_limit(scenario):
    s, t = scenario, scenario.t
    panel = data(t)["netLiquidation"]
    sources = [sample["source"] for sample in panel["samples"]]
    assert sources == ["allocation", "reconcile", "allocation", "trade-reconciliation"]
    assert panel["samples"][0]["value"] == s.filled["netLiquidation"]["value"]
    assert panel["samples"][2]["value"] == s.resting["netLiquidation"]["value"]
    start = panel["startOfDay"]
    assert start["value"] == s.filled["netLiquidation"]["value"] and start["today"] is True
    assert panel["maxDailyDrawdownPercent"] == 5
    assert panel["drawdownLimit"] == pytest.approx(start["value"] * 0.95, abs=0.01)
    assert panel["current"] == pytest.approx(panel["samples"][-1]["value"], abs=1.0)


@BOTH_BACKENDS
def test_runs_show_status_trigger_error_and_open_their_document(scenario):
    s, t = scenario, scenario.t
    runs = {group["intent"]: group["runs"] for group in data(t)["runs"]["intents"]}
    [failed] = runs["trade-reconciliation"]
    assert failed["status"] == "failed" and failed["error"] == s.failure["error"]
    assert failed["trigger"] == {"kind": "manual", "jobName": None, "scheduleTime": None,
                                 "userAgent": "Python-urllib/3.11"}
    assert failed["durationSeconds"] >= 0
    [scheduled] = runs["reconcile"]
    assert scheduled["trigger"]["kind"] == "scheduler"
    assert scheduled["trigger"]["jobName"] == SCHEDULER_HEADERS["X-CloudScheduler-JobName"]
    assert scheduled["trigger"]["scheduleTime"] == SCHEDULER_HEADERS["X-CloudScheduler-ScheduleTime"]
    assert [r["status"] for r in runs["allocation"]] == ["done", "done"]
    assert runs["close-all"] == [] and "summary" not in runs

    status, _, html = page(t, failed["url"])
    assert status == 200 and "LedgerMismatch" in html and "ledger 0, broker 7" in html
    assert t.service.request("GET", "/dashboard/runs/nosuchrun")[0] == 404


def test_the_dashboard_changes_nothing(scenario):
    t = scenario.t
    before_store = dashboard_scenario.store_rows(t.store.path)
    before_broker = t.simulator.state()
    for path in ("/dashboard", "/dashboard/data.json", "/dashboard/data.json", "/dashboard"):
        assert page(t, path)[0] == 200
    after_broker = t.simulator.state()
    assert dashboard_scenario.store_rows(t.store.path) == before_store
    for key in ("open_orders", "completed_orders", "executions", "positions"):
        assert after_broker[key] == before_broker[key]


def test_the_page_is_served_with_its_own_assets_only(scenario):
    t = scenario.t
    status, headers, html = page(t)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert page(t, "/dashboard/static/dashboard.css")[0] == 200


def test_with_the_gateway_gone_the_page_shows_the_stores_view(scenario):
    s, t = scenario, scenario.t
    snapshot = t.store.get("positions/paper")["latest_portfolio"]
    t.simulator.stop()
    body = wait_until(lambda: (lambda b: b if b["degraded"] else None)(data(t)), timeout_s=20,
                      what="the dashboard to notice the gateway is gone")
    assert "The broker cannot be read" in body["banner"] and body["gateway"]["ready"] is False
    [mnq] = {p["strategy"]: p for p in body["strategies"]}["dummy"]["holdings"]
    assert (mnq["conId"], mnq["quantity"], mnq["marketValue"]) == (s.mnq, 2, None)
    comparison = body["ledgerVsBroker"]
    assert comparison["source"] == "snapshot" and comparison["asOf"] == snapshot["takenAt"]
    assert [(r["conId"], r["broker"], r["differs"]) for r in comparison["rows"]] == [(s.mnq, 2, False)]
    orders = body["workingOrders"]
    assert orders["source"] == "ledger"
    assert [(o["owner"], o["permId"], o["listedByBroker"]) for o in orders["orders"]] == \
        [("service", s.resting["orders"][0]["permId"], False)]
    assert len(body["netLiquidation"]["samples"]) == 4

    status, _, html = page(t)
    assert status == 200 and 'id="degraded-banner"' in html and "reconcile&#39;s snapshot" in html
