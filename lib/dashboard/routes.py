"""The dashboard's routes as a Flask blueprint: the page, its data as JSON, a run's document and the page's own
stylesheet and icon. Every answer is read-only and comes from this host only (the Content-Security-Policy says so
to the browser)."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

from flask import Blueprint, jsonify, render_template, url_for

from lib.dashboard import chart, store_view
from lib.dashboard.collect import Intents, collect

# nothing but this host's own stylesheet and icon; no script at all
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                           "form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # the numbers are live and the account's: never kept by a cache on the way
    "Cache-Control": "no-store",
}


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def blueprint(services, intents: Intents, clock: Callable[[], datetime] = _utc_now) -> Blueprint:
    """The dashboard's routes over `services` (store, settings, bridge).

    Args:
        intents: the names of the intents that record activity and of those that place orders.
        clock: the current UTC time.
    """
    routes = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
                       static_url_path="/dashboard/static")

    def dashboard():
        return collect(services, intents, clock(),
                       lambda activity_id: url_for("dashboard.run", activity_id=activity_id))

    @routes.get("/dashboard")
    def page():
        data = dashboard()
        return render_template("dashboard/page.html", data=data, chart=chart.build(data.net_liquidation))

    @routes.get("/dashboard/data.json")
    def data_json():
        return jsonify(dashboard().model_dump(mode="json"))

    @routes.get("/dashboard/runs/<activity_id>")
    def run(activity_id: str):
        document = store_view.activity_document(services.store, activity_id)
        if document is None:
            return jsonify(error=f"NotFound: no activity document {activity_id!r}"), 404
        return render_template("dashboard/run.html", activity_id=activity_id, document=document,
                               text=json.dumps(document, indent=2, sort_keys=True, default=str))

    @routes.after_request
    def secured(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    _add_filters(routes)
    return routes


def _add_filters(routes: Blueprint) -> None:
    @routes.app_template_filter("amount")
    def amount(value, digits: int = 2) -> str:
        return "–" if value is None else f"{value:,.{digits}f}"

    @routes.app_template_filter("quantity")
    def quantity(value) -> str:
        return "–" if value is None else f"{value:,g}"

    @routes.app_template_filter("when")
    def when(iso) -> str:
        if not iso:
            return "–"
        try:
            return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        except ValueError:
            return str(iso)
