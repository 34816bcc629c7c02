"""`firestore.indexes.json` lists every composite index the service's queries need (the emulator needs none, so
production would be the first to refuse a query without its index).

The service's queries are found twice: statically, every `.query(` call in the service's code; and by running the
code behind each call on a store that records the queries it is asked (the shapes of one call can differ, as in the
ledger's fallbacks from permId to orderId to orderRef). Every call must have been run, and every query it made
must be served by single-field indexes or by an index in the file.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from lib.dashboard import store_view
from intents.collect_market_data import fetched_spans
from lib.events import outbox
from lib.broker.parsing import ExecutionFill
from lib.store import port
from lib.store.memory import MemoryStore
from lib.store.query import build_query
from lib.trading import daily_report, net_liquidation_samples
from lib.trading.ledger import Ledger
from lib.trading.cancel_requests import CancelRequestServer
from lib.trading.run_claims import RunClaims, StrategyLocks
from tests.support import REPO_ROOT
from tests.support.clock import NOW
from tests.support.fake_bridge import FakeBridge
from tests.support.firestore_indexes import covers, declared, required_index

SERVICE_PACKAGES = ("lib", "intents", "strategies")


def service_query_calls() -> set[tuple[str, int]]:
    """(file, line) of every `.query(` call in the service's code outside the store adapters."""
    calls = set()
    files = [path for package in SERVICE_PACKAGES for path in (REPO_ROOT / package).rglob("*.py")]
    for path in files + [REPO_ROOT / "main.py"]:
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative.startswith("lib/store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "query":
                calls.add((relative, node.lineno))
    return calls


@pytest.fixture
def recorded(monkeypatch):
    """Every query built through the port, with the service line that asked for it."""
    queries: list[tuple[tuple[str, int], port.Query]] = []

    def recording_build_query(*args, **kwargs):
        query = build_query(*args, **kwargs)
        frame = sys._getframe(1)
        while frame is not None and Path(frame.f_code.co_filename).resolve().parent == Path(port.__file__).parent:
            frame = frame.f_back
        site = (Path(frame.f_code.co_filename).resolve().relative_to(REPO_ROOT).as_posix(), frame.f_lineno)
        queries.append((site, query))
        return query

    monkeypatch.setattr(port, "build_query", recording_build_query)
    return queries


def fill(exec_id: str, *, perm_id: int, order_id: int, order_ref: str) -> ExecutionFill:
    return ExecutionFill(exec_id=exec_id, perm_id=perm_id, order_id=order_id, client_id=1, con_id=756733,
                         order_ref=order_ref, side="BOT", shares=1, price=600.0, time="2026-11-24T15:00:00+00:00")


def run_every_service_query(store) -> None:
    ledger = Ledger(store, "paper")
    ledger.record_pending([{"orderId": 7, "clientId": 1, "conId": 756733, "orderRef": "run-1", "quantity": 5,
                            "source": {"a": 5}, "placedAt": NOW.isoformat()}])
    ledger.apply(fill("e1", perm_id=900, order_id=7, order_ref="run-1"))      # by permId, then orderId + conId
    ledger.apply(fill("e2", perm_id=901, order_id=99, order_ref="run-1"))     # ... then orderRef + conId
    ledger.apply(fill("e3", perm_id=0, order_id=98, order_ref=""))            # no permId, no orderRef
    ledger.apply(fill("e4.01", perm_id=900, order_id=7, order_ref="run-1"))   # an execution, then its correction
    ledger.apply(fill("e4.02", perm_id=900, order_id=7, order_ref="run-1"))
    ledger.all_holdings()
    ledger.view()
    ledger.recorded_order_ids(1)
    ledger.adopt("manual", {756733: (1, 2)})
    ledger.forget_unsent("run-1")
    RunClaims(store, "paper", "allocation").claim("sig", "run-1", NOW, NOW - NOW, 60.0)
    StrategyLocks(store, "paper").acquire(["a"], "run-1", NOW, NOW - NOW)
    net_liquidation_samples.recent(store, "paper")
    store_view.read(store, "paper")
    CancelRequestServer(lambda: store, "paper", FakeBridge()).serve_once()
    fetched_spans(store, 756733)
    ledger.cost_bases()
    outbox.claim(store, "pubsub", "paper", NOW, 20.0, 10)
    daily_report.day_marks(store, "paper", NOW)
    daily_report.failed_runs(store, NOW.isoformat())
    daily_report.latest(store, "paper")


def test_every_query_the_service_makes_has_the_indexes_it_needs_in_firestore_indexes_json(recorded):
    run_every_service_query(MemoryStore())
    calls = service_query_calls()
    assert calls, "no query calls found: is the scan looking in the right place?"
    exercised = {site for site, _ in recorded}
    assert calls <= exercised, f"service queries this test does not run (add them above): {sorted(calls - exercised)}"
    indexes = declared(REPO_ROOT / "firestore.indexes.json")
    missing = []
    for site, query in recorded:
        needed = required_index(query)
        if needed is not None and not any(covers(index, needed) for index in indexes):
            missing.append((site, needed))
    assert missing == [], f"composite indexes to add to firestore.indexes.json: {missing}"
    # the ledger's fallbacks, its corrections' lookup and a worker's cancel requests are equality-only: single-field indexes merged, no
    # composite index
    shapes = {tuple((".".join(f.field), f.op) for f in query.filters) for _, query in recorded if query.filters}
    assert shapes == {(("permId", "=="),), (("orderId", "=="), ("conId", "=="), ("clientId", "==")),
                      (("orderRef", "=="), ("conId", "==")), (("execBase", "=="),), (("clientId", "=="),),
                      (("clientId", "=="), ("state", "==")), (("orderRef", "=="),),
                      # the outbox's claim, the daily report's executions and failed runs: no composite index
                      (("mode", "=="), ("delivery.pubsub", "==")), (("time", ">="),), (("status", "=="),)}


@pytest.mark.parametrize("kwargs, needed", [
    ({"where": [("a", "==", 1), ("b", "==", 2)]}, None),
    ({"where": [("a", ">", 1)], "order_by": [("a", "DESCENDING")]}, None),
    ({"order_by": [("a", "ASCENDING")]}, None),
    ({"where": [("intent", "==", "allocation")], "order_by": [("startedAt", "ASCENDING")]},
     [{"fieldPath": "intent", "order": "ASCENDING"}, {"fieldPath": "startedAt", "order": "ASCENDING"}]),
    ({"where": [("tags", "array-contains", "x"), ("qty", ">", 0)]},
     [{"fieldPath": "tags", "arrayConfig": "CONTAINS"}, {"fieldPath": "qty", "order": "ASCENDING"}]),
    ({"order_by": [("symbol", "ASCENDING"), ("qty", "DESCENDING")]},
     [{"fieldPath": "symbol", "order": "ASCENDING"}, {"fieldPath": "qty", "order": "DESCENDING"}]),
])
def test_which_queries_need_a_composite_index(kwargs, needed):
    index = required_index(build_query("positions/paper/openOrders", **kwargs))
    assert (None if index is None else index["fields"]) == needed
    if index is not None:
        assert index["collectionGroup"] == "openOrders" and covers(index, index)


def test_an_index_covers_equality_fields_in_any_order_and_the_rest_in_order():
    needed = required_index(build_query("activity", where=[("intent", "==", "x"), ("mode", "==", "paper")],
                                        order_by=[("startedAt", "DESCENDING"), ("id", "ASCENDING")]))
    intent, mode, started, doc_id = needed["fields"]
    assert covers({"collectionGroup": "activity", "fields": [mode, intent, started, doc_id]}, needed)
    assert not covers({"collectionGroup": "activity", "fields": [intent, mode, doc_id, started]}, needed)
    assert not covers({"collectionGroup": "openOrders", "fields": needed["fields"]}, needed)
    assert not covers({"collectionGroup": "activity", "fields": needed["fields"][:3]}, needed)
