"""Flask app factory: routes `GET|POST /{intent}`, health probes, the OpenAPI document, and the error -> HTTP
status mapping."""
from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from lib.dashboard import openapi_paths as dashboard_openapi
from lib.dashboard.collect import Intents as DashboardIntents
from lib.dashboard.routes import blueprint as dashboard_blueprint
from intents import REGISTRY
from lib import config as settings_module
from lib import logs
from lib.errors import (BadRequest, GatewayTimeout, GatewayUnavailable, PreconditionFailed, TradingDisabled,
                        orders_sent)
from lib.http import openapi, trigger
from lib.http.request import MAX_BODY_BYTES, read_params
from lib.services import Services
from lib.store.errors import Contention

log = logging.getLogger(__name__)

STATUS_BY_ERROR = (
    (BadRequest, 400),
    (TradingDisabled, 403),
    (PreconditionFailed, 409),
    (GatewayUnavailable, 503),
    (Contention, 503),
    (GatewayTimeout, 504),
)


def _error_body(exc: Exception) -> dict:
    """`{"error": "Class: message"}`, with the orders that may have reached IB before the error when any did."""
    sent = orders_sent(exc)
    return {"error": f"{type(exc).__name__}: {exc}", **({"ordersSent": len(sent), "orders": sent} if sent else {})}


def create_app(config: dict | None = None, *, services: Services | None = None, intents: dict | None = None) -> Flask:
    """Build the app. No I/O happens here: the store opens lazily, the bridge starts after fork.

    Args:
        config: Flask config overrides (tests pass {"TESTING": True}).
        services: prebuilt collaborators (store, bridge, settings); built from the environment when None.
        intents: route name -> Intent class; the full registry when None.
    """
    logs.configure()
    app = Flask(__name__)
    # bodies past the limit are refused (413) before they are read; OPTIONS is answered like any other method not
    # served (405 with Allow), so that every answer is JSON
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, PROVIDE_AUTOMATIC_OPTIONS=False)
    app.config.update(config or {})
    app.json.sort_keys = False
    if services is None:
        services = Services(settings_module.load(os.environ))
    app.extensions["services"] = services
    _log_requests(app)
    _add_probes(app, services)
    registry = REGISTRY if intents is None else intents
    _add_intents(app, services, registry)
    _add_dashboard(app, services, registry)
    _add_openapi(app, services, registry)
    _map_errors(app)
    return app


def _log_requests(app: Flask) -> None:
    """A request id for every log line of a request (Cloud Run's trace, the caller's, or a new one), and one
    access line per request with its latency."""

    @app.before_request
    def _start_request():
        g.started = time.monotonic()
        trace = request.headers.get("X-Cloud-Trace-Context", "").split("/")[0]
        g.request_token = logs.request_id.set(request.headers.get("X-Request-Id") or trace or uuid.uuid4().hex)

    @app.after_request
    def _finish_request(response):
        response.headers["X-Request-Id"] = logs.request_id.get()
        log.info("%s %s -> %s", request.method, request.path, response.status_code, extra={"fields": {
            "httpRequest": {"requestMethod": request.method, "requestUrl": request.path,
                            "status": response.status_code,
                            "latency": f"{time.monotonic() - g.started:.3f}s"}}})
        return response

    @app.teardown_request
    def _reset_request_id(_exc):
        token = g.pop("request_token", None)
        if token is not None:
            logs.request_id.reset(token)


def _add_probes(app: Flask, services: Services) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify(status="alive")

    @app.get("/readyz")
    def readyz():
        # Each gunicorn worker has its own gateway connection; the pid says which one answered.
        status = {**services.status(), "pid": os.getpid()}
        return jsonify(status), (200 if status["ready"] else 503)


def _add_intents(app: Flask, services: Services, registry: dict) -> None:
    @app.route("/", defaults={"intent": ""}, methods=["GET", "POST"])
    @app.route("/<intent>", methods=["GET", "POST"])
    def run_intent(intent: str):
        intent_class = registry.get(intent)
        if intent_class is None:
            _refuse_other_methods(app, request.path)
            return jsonify(error=f"NotFound: unknown intent {intent!r}"), 404
        params = read_params(request)
        # a bad request is 400 at once, also while the gateway is away
        parsed = intent_class.parse_params(params, datetime.now(timezone.utc))
        services.wait_ready()
        runner = intent_class(bridge=services.bridge, store=services.store, settings=services.settings,
                              trigger=trigger.from_headers(request.headers))
        result = runner.run(params, parsed)
        result["utcTimestamp"] = datetime.now(timezone.utc).isoformat()
        return jsonify(result)


def _refuse_other_methods(app: Flask, path: str) -> None:
    """A POST to a GET-only probe reaches the intent route; it is 405 for the probe, not an unknown intent."""
    for rule in app.url_map.iter_rules():
        if rule.rule == path and not rule.arguments:
            raise MethodNotAllowed(valid_methods=sorted(rule.methods))


def _add_dashboard(app: Flask, services: Services, registry: dict) -> None:
    """`GET /dashboard` and its data: read-only, told only the intents' names."""
    intents = DashboardIntents(
        recorded=tuple(name for name, cls in registry.items() if cls.places_orders or cls.records_activity),
        ordering=tuple(name for name, cls in registry.items() if cls.places_orders))
    app.register_blueprint(dashboard_blueprint(services, intents))


def _add_openapi(app: Flask, services: Services, registry: dict) -> None:
    document = openapi.document(registry, version=services.settings.service_revision)
    dashboard_openapi.add_to(document)

    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(document)


def _map_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # keep the exception's own headers (405's Allow), not its HTML content type
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        return jsonify(error=f"{type(exc).__name__}: {exc.description}"), exc.code, headers

    @app.errorhandler(Exception)
    def intent_error(exc: Exception):
        for error_type, status in STATUS_BY_ERROR:
            if isinstance(exc, error_type):
                log.warning("%s: %s", type(exc).__name__, exc)
                headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, Contention) else {}
                return jsonify(_error_body(exc)), status, headers
        log.exception("intent failed")
        return jsonify(_error_body(exc)), 500

app = create_app()
