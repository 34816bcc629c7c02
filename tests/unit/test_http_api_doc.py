"""docs/http-api.md's intent, parameter, status and limit tables say what `GET /openapi.json` says.

`make api-docs` (UPDATE_API_DOCS=1) rewrites them from the document instead of comparing.
"""
import os

from lib.config import Settings
from lib.http.doc_tables import render, update
from lib.services import Services
from lib.store.memory import MemoryStore
from main import create_app
from tests.support import REPO_ROOT

HTTP_API = REPO_ROOT / "docs" / "http-api.md"
README = REPO_ROOT / "README.md"


def served_document() -> dict:
    client = create_app({"TESTING": True}, services=Services(Settings(), store=MemoryStore())).test_client()
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_http_api_tables_match_the_openapi_document():
    document = served_document()
    text = HTTP_API.read_text()
    expected = update(text, document)
    if os.environ.get("UPDATE_API_DOCS") == "1":
        HTTP_API.write_text(expected)
        text = HTTP_API.read_text()
    assert text == expected, "docs/http-api.md's generated tables differ from GET /openapi.json: run `make api-docs`"


def test_every_intent_and_parameter_has_a_row():
    document = served_document()
    tables = render(document)
    for path, item in document["paths"].items():
        if "post" not in item:
            continue
        assert f"| `{path.lstrip('/') or '/'}` |" in tables["intents"]
        for parameter in item["get"]["parameters"]:
            assert f"| `{parameter['name']}` |" in tables["parameters"]
    assert "| 413 |" in tables["statuses"] and "| 65536 bytes | 413 |" in tables["limits"]


def test_readme_lists_every_intent():
    """README's short table of intents is written by hand; an intent added to the service must appear in it."""
    readme = README.read_text()
    for path, item in served_document()["paths"].items():
        if "post" in item:
            assert f"| `{path.lstrip('/') or '/'}` |" in readme, f"README's table of intents lacks {path}"
