"""The service's OpenAPI 3.1 document (`GET /openapi.json`), generated from the intents' parameter models and the
HTTP contract: which statuses each intent answers and with which bodies."""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from lib.http.request import JSON_MEDIA_TYPE, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_REQUEST_LINE_BYTES

OPENAPI_VERSION = "3.1.0"
_SCHEMAS = "#/components/schemas/"
_RESPONSES = "#/components/responses/"
URI_TOO_LONG = (f"the request line (the path with its query string) is longer than {MAX_REQUEST_LINE_BYTES} bytes "
                "(gunicorn's limit_request_line; its own HTML page)")

# every answer but 200 carries {"error": "Class: message"}
ERRORS = {
    "400": "malformed JSON, a body that is not an object, a body on a GET, a parameter given twice (or in both the "
           "query string and the body), or unknown or invalid parameters (the message names each)",
    "403": "the kill switch (`tradingEnabled: false`) refuses a run that could place orders",
    "404": "unknown intent",
    "409": "the intent depends on something that has not happened (`risk-check` before today's allocation), or "
           "another run is trading the same strategies (each intent says when)",
    "405": "a method other than GET or POST (the Allow header lists the accepted ones)",
    "413": f"the request body is larger than {MAX_BODY_BYTES} bytes",
    "415": f"the request body is not {JSON_MEDIA_TYPE} in UTF-8",
    "500": "the intent failed: `{\"error\": \"ExceptionClass: message\"}`, never a stack trace",
    "503": ("IB Gateway is not connected (after a short grace period for a reconnect in progress), or a store "
            "transaction was still contended when the time budget ran out (with `Retry-After` in seconds; nothing "
            "of that transaction was written)"),
    "504": "the run exceeded its time budget (`timeoutSeconds`)",
}

LIMITS = (
    ("request body", f"{MAX_BODY_BYTES} bytes", "413"),
    ("request line (a GET's query string included)", f"{MAX_REQUEST_LINE_BYTES} bytes", "414"),
    ("JSON nesting (body, and JSON text in the query string)", f"{MAX_JSON_DEPTH} levels", "400"),
    ("Content-Type of a body", f"{JSON_MEDIA_TYPE} (or none), UTF-8", "415"),
    ("methods", "GET, POST", "405"),
    ("a parameter twice: in one JSON object, in the query string, or in both", "refused", "400"),
    ("NaN, Infinity, numbers beyond a float", "refused", "400"),
)

CONTRACT = (
    "Call an intent as `GET|POST /{intent}`. Parameters come from the query string and, for POST, a JSON object "
    "body (the document shows GET with the query string and POST with the body); each is given once, not twice in "
    "either, nor in both. In the query string booleans are `true`/`false` (also "
    "`1`/`0`, `yes`/`no`), lists are comma-separated (`strategies=dummy,spymacdvixy`) and objects are JSON text "
    "(`strategyParams={\"dummy\":{\"seed\":7}}`); the JSON body takes the same forms and the JSON types. Every "
    "answer is JSON: 200 carries the intent's result plus `utcTimestamp`, every other status "
    "`{\"error\": \"ExceptionClass: message\"}`.")


class IntentLike(Protocol):
    """What the document reads from an intent class."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    places_orders: ClassVar[bool]
    conflicts: ClassVar[str]


def document(intents: Mapping[str, IntentLike], *, version: str) -> dict:
    """The OpenAPI 3.1 document of `intents` (route name -> intent class) and the probes.

    Args:
        intents: the served intents.
        version: the service revision, reported as the document's version.
    """
    refs, defs = models_json_schema([(intent.Params, "validation") for intent in intents.values()],
                                    ref_template=_SCHEMAS + "{model}")
    schemas = {**defs.get("$defs", {}), **_BODIES}
    paths = {}
    for intent in intents.values():
        model_ref = refs[(intent.Params, "validation")]["$ref"]
        model = schemas[model_ref.removeprefix(_SCHEMAS)]
        paths[f"/{intent.name}"] = {method: _operation(intent, method, model, model_ref) for method in ("get", "post")}
    paths.update(_probes())
    limits = "\n".join(f"- {what}: {value} (else {status})" for what, value, status in LIMITS)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "IB trading service", "version": version,
                 "description": f"{CONTRACT}\n\nLimits:\n{limits}",
                 "x-limits": [{"limit": what, "value": value, "status": status} for what, value, status in LIMITS]},
        "paths": paths,
        "components": {"schemas": schemas, "responses": {
            **{status: _error(text) for status, text in ERRORS.items()},
            # gunicorn answers it itself, before the app: an HTML page, not the service's JSON error
            "414": {"description": URI_TOO_LONG, "content": {"text/html": {"schema": {"type": "string"}}}}}},
    }


def _operation(intent: IntentLike, method: str, model: dict, model_ref: str) -> dict:
    """GET takes the parameters in the query string, POST in a JSON body. (A POST may also carry some in its query
    string, each given in one place only; OpenAPI cannot say "in one or the other", so the document shows the body.)"""
    name = intent.name or "gateway time"
    operation = {
        "operationId": f"{method}-{name.replace(' ', '-')}",
        "summary": name,
        "description": intent.description,
        "tags": ["orders" if intent.places_orders else "reads"],
        "responses": _responses(intent, method),
    }
    if method == "get":
        operation["parameters"] = [_query_parameter(param, member, param in model.get("required", ()))
                                   for param, member in model.get("properties", {}).items()]
    else:
        operation["requestBody"] = {
            "required": False, "description": "the parameters as a JSON object",
            "content": {JSON_MEDIA_TYPE: {"schema": {"$ref": model_ref}}}}
    return operation


def _query_parameter(name: str, member: dict, required: bool) -> dict:
    parameter = {"name": name, "in": "query", "required": required, "description": member.get("description", "")}
    if "$ref" in member or member.get("type") == "object":
        parameter["content"] = {JSON_MEDIA_TYPE: {"schema": member}}
        return parameter
    parameter["schema"] = member
    if member.get("type") == "array":
        parameter.update(style="form", explode=False)
    return parameter


def _responses(intent: IntentLike, method: str) -> dict:
    statuses = ["400", "413", "500", "503", "504"]
    if method == "post":
        statuses.append("415")
    else:
        statuses.append("414")
    if intent.places_orders:
        statuses.append("403")
    responses = {"200": {"description": "the intent's result plus `utcTimestamp`",
                         "content": {JSON_MEDIA_TYPE: {"schema": {"$ref": _SCHEMAS + "Result"}}}}}
    responses.update({status: {"$ref": _RESPONSES + status} for status in sorted(statuses)})
    conflicts = [intent.conflicts] if intent.conflicts else []
    if intent.places_orders:
        conflicts.append("an identical run is still running and its outcome is not known yet (retry later)")
    if conflicts:
        responses["409"] = _error("; or ".join(conflicts))
    return dict(sorted(responses.items()))


def _probes() -> dict:
    def probe(summary: str, responses: dict) -> dict:
        return {"get": {"operationId": f"get-{summary.split()[0]}", "summary": summary, "tags": ["probes"],
                        "responses": responses}}

    def ok(description: str, schema: dict) -> dict:
        return {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": schema}}}

    readiness = {"$ref": _SCHEMAS + "Readiness"}
    return {
        "/healthz": probe("healthz: the process is alive", {"200": ok("alive", {"$ref": _SCHEMAS + "Health"})}),
        "/readyz": probe("readyz: the answering worker's gateway connection", {
            "200": ok("connected and synced", readiness), "503": ok("not connected or not synced", readiness)}),
        "/openapi.json": probe("openapi.json: this document", {"200": ok("the OpenAPI document", {"type": "object"})}),
    }


def _error(description: str) -> dict:
    return {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": {"$ref": _SCHEMAS + "Error"}}}}


_BODIES = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string", "description": "ExceptionClass: message"},
                             "ordersSent": {"type": "integer", "minimum": 1,
                                            "description": "a run that failed after orders may have reached IB: "
                                                           "how many"},
                             "orders": {"type": "array", "items": {"type": "object"},
                                        "description": "those orders (orderId, clientId, conId, localSymbol, action, "
                                                       "quantity, orderRef, source)"}}},
    "Result": {"type": "object", "required": ["utcTimestamp"],
               "properties": {"utcTimestamp": {"type": "string", "format": "date-time"}},
               "description": "the intent's result (its members are described with each intent in "
                              "docs/architecture.md and docs/http-api.md)"},
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "alive"}}},
    "Readiness": {"type": "object", "required": ["ready", "connected", "pid"], "properties": {
        "ready": {"type": "boolean"}, "connected": {"type": "boolean"},
        "pid": {"type": "integer", "description": "the gunicorn worker that answered"},
        "clientId": {"type": ["integer", "null"]}, "reconnects": {"type": "integer"},
        "lastError": {"type": ["string", "null"]}, "serverVersion": {"type": ["integer", "null"]}}},
}
