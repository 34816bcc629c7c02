"""README's intent, parameter, status and limit tables say what `GET /openapi.json` says.

`make readme` (UPDATE_README=1) rewrites them from the document instead of comparing.
"""
import os

from lib.config import Settings
from lib.http.readme_tables import render, update
from lib.services import Services
from lib.store.memory import MemoryStore
from main import create_app
from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"


def served_document() -> dict:
    client = create_app({"TESTING": True}, services=Services(Settings(), store=MemoryStore())).test_client()
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_readme_tables_match_the_openapi_document():
    document = served_document()
    readme = README.read_text()
    expected = update(readme, document)
    if os.environ.get("UPDATE_README") == "1":
        README.write_text(expected)
        readme = README.read_text()
    assert readme == expected, "README's generated tables differ from GET /openapi.json: run `make readme`"


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
