"""docs/paper-gateway.md stays complete and current: every admin endpoint, every fault kind, every TWS API request
message id, each with the answer the gateway's dispatch tables give it."""

import inspect
import re

import ib_async.client
import pytest
from ibapi.message import OUT

from simulator.admin import ROUTES
from simulator.engine.faults import CATALOGUE
from simulator.gateway.dispatch import HANDLERS, REFUSED, SILENT
from simulator.protocol.requests import PARSERS, StartApi, parse_request
from simulator.protocol.versions import SERVER_VERSION
from tests.support import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "paper-gateway.md").read_text()
REQUEST_ROWS = {int(match[1]): (match[2], match[3])
                for match in re.finditer(r"^\| (\d+) \| `(\w+)` \| ([\w ]+) \|", DOC, re.MULTILINE)}
# enough fields of "1" for any request's parser: ints, flags, prices and strings all read from it
FILLER = ["1"] * 400


def client_message_ids() -> set[int]:
    """Request ids ibapi names in message.OUT, and those ib_async's Client sends."""
    ids = {value for name, value in vars(OUT).items() if not name.startswith("_") and isinstance(value, int)}
    source = inspect.getsource(ib_async.client)
    ids |= {int(found) for found in re.findall(r"(?:self\.send\(|fields(?:: list)? = \[)\s*(\d+)\b", source)}
    return ids


def expected_answer(msg_id: int) -> str:
    """What the dispatch tables say a well-formed request of this id gets."""
    request_type = type(parse_request([str(msg_id), *FILLER], SERVER_VERSION))
    if request_type is StartApi:
        return "served"
    assert request_type in HANDLERS, f"message {msg_id} ({request_type.__name__}) has no handler"
    if request_type in REFUSED:
        return f"refused {REFUSED[request_type]}"
    return "no answer" if request_type in SILENT else "served"


def test_every_request_message_id_has_a_row():
    ids = client_message_ids()
    assert {1, 3, 20, 71, 99, 104} <= ids
    missing = sorted(ids - set(REQUEST_ROWS))
    assert not missing, f"docs/paper-gateway.md's request table has no row for message ids {missing}"
    assert set(PARSERS) <= set(REQUEST_ROWS)


@pytest.mark.parametrize("msg_id", sorted(PARSERS))
def test_each_row_says_how_the_gateway_answers(msg_id):
    name, answer = REQUEST_ROWS[msg_id]
    assert answer.strip() == expected_answer(msg_id), f"row {msg_id} ({name}) is stale"


def test_the_table_has_no_unmodelled_requests():
    assert "†" not in DOC and "not supported by the paper gateway" not in DOC


def test_every_admin_endpoint_is_documented():
    for method, path in ROUTES:
        assert f"`{method} {path}" in DOC, f"docs/paper-gateway.md does not document {method} {path}"


def test_every_fault_kind_is_documented():
    kinds = {match[1] for match in re.finditer(r"^\| `([a-z-]+)` \|", DOC, re.MULTILINE)}
    assert set(CATALOGUE) <= kinds
