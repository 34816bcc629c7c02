"""docs/paper-gateway.md stays complete: every admin endpoint, every fault kind, every TWS API request message id."""

import inspect
import re

import ib_async.client
from ibapi.message import OUT

from simulator.admin import ROUTES
from simulator.engine.faults import CATALOGUE
from simulator.protocol.requests import PARSERS
from tests.support import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "paper-gateway.md").read_text()
REQUEST_ROWS = {int(match[1]): match[2] for match in re.finditer(r"^\| (\d+) \| `(\w+)` \|", DOC, re.MULTILINE)}


def client_message_ids() -> set[int]:
    """Request ids ibapi names in message.OUT, and those ib_async's Client sends."""
    ids = {value for name, value in vars(OUT).items() if not name.startswith("_") and isinstance(value, int)}
    source = inspect.getsource(ib_async.client)
    ids |= {int(found) for found in re.findall(r"(?:self\.send\(|fields(?:: list)? = \[)\s*(\d+)\b", source)}
    return ids


def test_every_request_message_id_has_a_row():
    ids = client_message_ids()
    assert {1, 3, 20, 71, 99, 104} <= ids
    missing = sorted(ids - set(REQUEST_ROWS))
    assert not missing, f"docs/paper-gateway.md's request table has no row for message ids {missing}"
    assert set(PARSERS) <= set(REQUEST_ROWS)


def test_every_admin_endpoint_is_documented():
    for method, path in ROUTES:
        assert f"`{method} {path}" in DOC, f"docs/paper-gateway.md does not document {method} {path}"


def test_every_fault_kind_is_documented():
    kinds = {match[1] for match in re.finditer(r"^\| `([a-z-]+)` \|", DOC, re.MULTILINE)}
    assert set(CATALOGUE) <= kinds
