"""The HTTP surface of main.create_app: the limits on what a request may carry, each answered as JSON 4xx, and the
OpenAPI document generated from the intents' models."""
import json
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from intents import REGISTRY
from strategies import REGISTRY as STRATEGIES
from intents.base import Intent, IntentParams
from lib.config import Settings
from lib.http.request import MAX_BODY_BYTES, MAX_JSON_DEPTH
from lib.params import absent
from lib.services import Services
from lib.store.memory import MemoryStore
from main import create_app
from tests.support.fake_bridge import FakeBridge


class EchoParams(IntentParams):
    x: Any = absent()


class Echo(Intent):
    name = "echo"
    Params = EchoParams

    def execute(self, params, config, deadline):
        return {"params": params}


def build_client(intents=None):
    services = Services(Settings(service_revision="rev-1"), store=MemoryStore(), bridge=FakeBridge())
    return create_app({"TESTING": True}, services=services, intents=intents).test_client()


@pytest.fixture
def client():
    return build_client({"echo": Echo})


def post(client, body: bytes, content_type: str | None = "application/json"):
    headers = {} if content_type is None else {"Content-Type": content_type}
    return client.post("/echo", data=body, headers=headers)


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    return response.json["error"]


# --- size -------------------------------------------------------------------------------------------------------

def test_a_body_at_the_size_limit_is_read_and_one_byte_more_is_413(client):
    body = b'{"x": "' + b"a" * (MAX_BODY_BYTES - 10) + b'"}'
    at_limit = body + b" " * (MAX_BODY_BYTES - len(body))
    assert post(client, at_limit).status_code == 200
    error = error_of(post(client, at_limit + b" "), 413)
    assert error == f"RequestEntityTooLarge: the request body is larger than the limit of {MAX_BODY_BYTES} bytes"


# --- depth ------------------------------------------------------------------------------------------------------

def test_nesting_at_the_depth_limit_is_read_and_deeper_is_400(client):
    inside = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert post(client, f'{{"x": {inside}}}'.encode()).json["params"] == {"x": json.loads(inside)}
    error = error_of(post(client, f'{{"x": [{inside}]}}'.encode()), 400)
    assert error == f"BadRequest: request body: JSON nested deeper than {MAX_JSON_DEPTH} levels"


def test_a_body_nested_deeper_than_python_can_recurse_is_400_not_500(client):
    body = b"[" * 30_000 + b"]" * 30_000
    assert len(body) <= MAX_BODY_BYTES
    assert "deeper than" in error_of(post(client, body), 400)


# --- content type -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json", None])
def test_json_bodies_and_bodies_without_a_type_are_read(client, content_type):
    assert post(client, b'{"x": 1}', content_type).json["params"] == {"x": 1}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/octet-stream", "application/json; charset=latin-1"])
def test_other_content_types_are_415(client, content_type):
    error = error_of(post(client, b'{"x": 1}', content_type), 415)
    assert error.startswith("UnsupportedMediaType: the request body must be JSON in UTF-8")


def test_a_form_body_is_not_read_as_parameters(client):
    error = error_of(post(client, b"x=1&dryRun=false", "application/x-www-form-urlencoded"), 415)
    assert "application/x-www-form-urlencoded" in error


# --- methods ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_are_405_with_allow(client, method):
    response = client.open("/echo", method=method)
    assert error_of(response, 405).startswith("MethodNotAllowed: ")
    assert {"GET", "POST"} <= {part.strip() for part in response.headers["Allow"].split(",")}


def test_probes_answer_only_get(client):
    response = client.post("/healthz")
    error_of(response, 405)
    assert "POST" not in response.headers["Allow"]


# --- other bad input --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, reason", [
    (b'{"x": 1, "x": 2}', "request body: the key 'x' appears twice in one object"),
    (b'{"x": NaN}', "request body: NaN is not a JSON number"),
    (b'{"x": 1e999}', "request body: the number 1e999 is beyond the range of a float"),
    (b'{"x": "\xff\xfe"}', "request body: not valid JSON: not UTF-8 (invalid start byte at byte 7)"),
    (b"\x00\x01\x02", "request body: not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (b'"just text"', "request body must be a JSON object, got str"),
])
def test_bodies_json_would_bend_are_400_with_the_reason(client, body, reason):
    assert error_of(post(client, body), 400) == f"BadRequest: {reason}"


def test_a_get_with_a_body_is_400_because_the_body_would_be_ignored(client):
    response = client.open("/echo", method="GET", data=b'{"x": 1}', content_type="application/json")
    assert "carries its parameters in the query string" in error_of(response, 400)


def test_a_parameter_repeated_in_the_query_string_is_400(client):
    assert "'x' appears 2 times in the query string" in error_of(client.get("/echo?x=1&x=2"), 400)


def test_unknown_paths_are_json_404(client):
    assert error_of(client.get("/echo/deeper"), 404).startswith("NotFound: ")
    assert error_of(client.get("/%00"), 404) == "NotFound: unknown intent '\\x00'"


# --- the OpenAPI document ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def document():
    response = build_client().get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_openapi_json_is_a_valid_openapi_3_1_document(document):
    assert document["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(document).validate()


def test_every_intent_is_documented_from_its_model(document):
    for intent in REGISTRY.values():
        item = document["paths"][f"/{intent.name}"]
        schema = intent.Params.model_json_schema()
        assert [p["name"] for p in item["get"]["parameters"]] == list(schema["properties"])
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{intent.Params.__name__}"}
        for method in ("get", "post"):
            statuses = set(item[method]["responses"])
            assert {"200", "400", "413", "500", "503", "504"} <= statuses
            assert ("403" in statuses) == intent.places_orders
            # an order-capable intent answers 409 while an identical run is still running
            assert ("409" in statuses) == (bool(intent.conflicts) or intent.places_orders)
            assert ("415" in statuses) == (method == "post")
            assert ("414" in statuses) == (method == "get")
        assert item["get"]["description"] == intent.description != ""


def test_required_parameters_are_required_in_a_get_query_and_in_a_post_body(document):
    get = document["paths"]["/allocation"]["get"]
    assert [p["name"] for p in get["parameters"] if p["required"]] == ["strategies"]
    body = document["components"]["schemas"]["AllocationParams"]
    assert body["required"] == ["strategies"] and body["additionalProperties"] is False


def test_strategy_ids_and_their_parameters_come_from_the_registry(document):
    schemas = document["components"]["schemas"]
    assert schemas["AllocationParams"]["properties"]["strategies"]["items"]["enum"] == list(STRATEGIES)
    assert {"dummy", "spymacdvixy"} <= set(schemas["StrategyParams"]["properties"]) == set(STRATEGIES)
    seed = schemas["DummyParams"]["properties"]["seed"]
    assert seed["type"] == "integer" and seed["maximum"] == 2**63 - 1


def test_query_string_forms_are_declared(document):
    parameters = {p["name"]: p for p in document["paths"]["/allocation"]["get"]["parameters"]}
    assert (parameters["strategies"]["style"], parameters["strategies"]["explode"]) == ("form", False)
    assert "application/json" in parameters["strategyParams"]["content"]
    assert parameters["dryRun"]["schema"]["type"] == "boolean"
