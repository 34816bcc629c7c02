"""The dashboard in the service's OpenAPI document: its three GET paths, and the JSON schema of
`/dashboard/data.json` taken from the models that answer it."""
from __future__ import annotations

from lib.dashboard import model
from lib.dashboard.store_view import ACTIVITY_ID

_SCHEMAS = "#/components/schemas/"
_PREFIX = "Dashboard"
HTML = "text/html"
JSON = "application/json"


def _schemas() -> dict:
    """Dashboard (the answer) and its parts as DashboardTrading, DashboardRun, ..., refs pointing at them."""
    schema = model.Dashboard.model_json_schema(mode="serialization", ref_template=_SCHEMAS + _PREFIX + "{model}")
    parts = {f"{_PREFIX}{name}": part for name, part in schema.pop("$defs", {}).items()}
    return {"Dashboard": schema, **parts}


def _page(operation_id: str, summary: str, description: str, **extra) -> dict:
    responses = {"200": {"description": description, "content": {HTML: {"schema": {"type": "string"}}}},
                 "500": {"$ref": "#/components/responses/500"}}
    responses.update(extra.pop("responses", {}))
    return {"get": {"operationId": operation_id, "summary": summary,
                    "tags": ["dashboard"], "responses": dict(sorted(responses.items())), **extra}}


def add_to(document: dict) -> None:
    """Add the dashboard's paths and schemas to the service's OpenAPI `document` (in place)."""
    document["paths"]["/dashboard"] = _page(
        "get-dashboard", "dashboard: the account, the strategies and the day's runs at a glance",
        "the page (HTML, read-only): gateway, NetLiquidation chart, holdings by strategy, ledger vs broker, working "
        "orders, the latest runs, kill switch and trading mode; the store's view with a banner when the gateway is "
        "down")
    document["paths"]["/dashboard/data.json"] = {"get": {
        "operationId": "get-dashboard-data", "summary": "dashboard/data.json: the page's numbers", "tags": ["dashboard"],
        "responses": {
            "200": {"description": "what the page shows, as data (200 also while the gateway is down: `degraded`)",
                    "content": {JSON: {"schema": {"$ref": _SCHEMAS + "Dashboard"}}}},
            "500": {"$ref": "#/components/responses/500"}}}}
    document["paths"]["/dashboard/runs/{activityId}"] = _page(
        "get-dashboard-run", "dashboard/runs: one run's activity document", "the run's activity document, in full",
        parameters=[{"name": "activityId", "in": "path", "required": True, "description": "the activity document's id",
                     "schema": {"type": "string", "pattern": ACTIVITY_ID.pattern}}],
        responses={"404": {"description": "no activity document by that id",
                           "content": {JSON: {"schema": {"$ref": _SCHEMAS + "Error"}}}}})
    document["components"]["schemas"].update(_schemas())
