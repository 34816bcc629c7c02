"""The dashboard's routes through create_app, with an in-memory store and a fake broker: the data against its
OpenAPI schema, the page, the store's view when the broker cannot be read, and a run's document."""
from datetime import date, datetime, timezone

import pytest
from ib_async import AccountValue
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from lib.broker.account_view import AccountView, PortfolioLine, WorkingOrder, account_view
from lib.broker.parsing import BrokerPosition
from lib.config import Settings
from lib.seed import seed
from lib.services import Services
from lib.store.memory import MemoryStore
from lib.trading import net_liquidation_samples, start_of_day
from main import create_app
from tests.support.fake_bridge import FakeBridge

ACCOUNT = "DU1234567"
SPY = 756733
BROKER_TIME = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)


def broker() -> AccountView:
    return AccountView(
        broker_time=BROKER_TIME,
        positions=[BrokerPosition(ACCOUNT, SPY, "SPY", 12, 590.0)],
        portfolio=[PortfolioLine(ACCOUNT, SPY, "SPY", 12, 600.0, 7200.0, 590.0, 120.0)],
        working_orders=[WorkingOrder(ACCOUNT, 77, 0, 0, SPY, "SPY", "SELL", 3, 0, 3, "Submitted", "LMT", 650.0,
                                     "GTC", "")],
        account_values=[AccountValue(ACCOUNT, "NetLiquidation", "1000120.0", "USD", "")])


@pytest.fixture
def store():
    store = MemoryStore()
    seed(store, ACCOUNT)
    store.set("positions/paper/holdings/spymacdvixy", {str(SPY): 10})
    # bought at 585 by the strategy, while the account's average cost is 590
    store.set("positions/paper/costBasis/spymacdvixy", {str(SPY): {"quantity": 10, "cost": 5850.0}})
    store.set("reports/paper/daily/2026-11-23", {
        "day": "2026-11-23", "currency": "USD", "activityId": "report1", "netLiquidationOpen": 999_000.0,
        "netLiquidationClose": 1_000_000.0, "netLiquidationChange": 1_000.0, "totalPnl": 999.0, "commissions": 1.0,
        "fills": 1, "failures": 0, "failedRuns": [], "differences": {},
        "strategies": {"spymacdvixy": {"realized": 0.0, "unrealized": 1_000.0, "commissions": 1.0, "pnl": 999.0,
                                       "fills": 1}}})
    start_of_day.record_once(store, "paper", start_of_day.StartOfDay(date(2026, 11, 24), 1_000_000.0, "USD",
                                                                      "2026-11-24T14:45:00+00:00", "a1"))
    for minute, value in ((45, 1_000_000.0), (50, 1_000_050.0)):
        net_liquidation_samples.record(store, "paper", net_liquidation_samples.Sample(
            f"2026-11-24T14:{minute}:00+00:00", value, "USD", "allocation"))
    store.set("activity/failedrun", {"intent": "trade-reconciliation", "status": "failed",
                                     "startedAt": "2026-11-24T15:00:00+00:00",
                                     "finishedAt": "2026-11-24T15:00:01+00:00",
                                     "exception": "LedgerMismatch: <script>alert(1)</script>",
                                     "trigger": {"kind": "scheduler", "jobName": "recon"}})
    return store


def client_of(store, bridge):
    return create_app({"TESTING": True}, services=Services(Settings(), store=store, bridge=bridge)).test_client()


@pytest.fixture
def client(store):
    return client_of(store, FakeBridge({account_view: broker}))


def schema_of(client) -> Draft202012Validator:
    document = client.get("/openapi.json").json
    return Draft202012Validator({"$ref": "#/components/schemas/Dashboard", "components": document["components"]})


def test_the_data_is_what_its_openapi_schema_says(client):
    document = client.get("/openapi.json").json
    OpenAPIV31SpecValidator(document).validate()
    assert {"/dashboard", "/dashboard/data.json", "/dashboard/runs/{activityId}"} <= set(document["paths"])
    body = client.get("/dashboard/data.json").json
    schema_of(client).validate(body)
    assert body["degraded"] is False and body["gateway"]["brokerTime"] == BROKER_TIME.isoformat()
    [holding] = [s for s in body["strategies"] if s["strategy"] == "spymacdvixy"][0]["holdings"]
    assert (holding["marketValue"], holding["unrealizedPNL"]) == (6000.0, 150.0)
    assert body["dailyReport"]["day"] == "2026-11-23" and body["dailyReport"]["strategies"][0]["pnl"] == 999.0
    [row] = body["ledgerVsBroker"]["rows"]
    assert (row["ledger"], row["broker"], row["differs"]) == (10, 12, True)
    [order] = body["workingOrders"]["orders"]
    assert order["owner"] == "other" and order["permId"] == 77
    panel = body["netLiquidation"]
    assert (panel["current"], panel["drawdownLimit"], len(panel["samples"])) == (1_000_120.0, 950_000.0, 2)


def test_the_page_draws_the_samples_and_escapes_what_it_shows(client):
    response = client.get("/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert html.count('<circle class="sample"') == 2
    assert 'class="mark start-of-day"' in html and 'class="mark drawdown-limit"' in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'tr class="differs"' in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("bridge, reason", [
    (FakeBridge(ready=False), "IB Gateway is not connected"),
    (FakeBridge(silent=frozenset({account_view})), "GatewayTimeout"),
    (None, "the IB bridge has not been started"),
])
def test_without_the_broker_the_answer_is_the_stores_view(store, bridge, reason):
    client = client_of(store, bridge)
    body = client.get("/dashboard/data.json").json
    schema_of(client).validate(body)
    assert body["degraded"] is True and reason in body["banner"] and reason in body["gateway"]["readError"]
    assert body["ledgerVsBroker"] == {"source": "none", "asOf": None, "rows": [], "differences": 0}
    [holding] = [s for s in body["strategies"] if s["strategy"] == "spymacdvixy"][0]["holdings"]
    assert holding["quantity"] == 10 and holding["marketValue"] is None
    response = client.get("/dashboard")
    assert response.status_code == 200 and 'id="degraded-banner"' in response.get_data(as_text=True)


def test_a_runs_document_opens_in_full(client):
    response = client.get("/dashboard/runs/failedrun")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "&#34;jobName&#34;: &#34;recon&#34;" in html and "<script>alert" not in html


@pytest.mark.parametrize("activity_id", ["nosuchrun", "__reserved__", "a.b", "x" * 200])
def test_an_unknown_run_is_a_json_404(client, activity_id):
    response = client.get(f"/dashboard/runs/{activity_id}")
    assert response.status_code == 404 and response.json["error"].startswith("NotFound: no activity document")


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/data.json", "/dashboard/runs/failedrun"])
def test_the_dashboard_answers_get_only(client, path):
    response = client.post(path)
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert "error" in response.json
