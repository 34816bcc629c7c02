"""The trading path with the Firestore adapter (against the gRPC emulator), as it runs on Cloud Run.

The emulator keeps fields a full set() leaves out and has no transaction isolation, so this covers placing,
recording, applying fills and the duplicate check one request at a time; closing positions and simultaneous
duplicates are covered on SQLite.
"""
from __future__ import annotations

import uuid

import pytest

from lib.seed import seed
from tests.e2e.conftest import ACCOUNT
from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.service_process import ServiceProcess
from tests.support.simulator_process import wait_until

pytestmark = pytest.mark.firestore


@pytest.fixture
def firestore_store(firestore_emulator, monkeypatch):
    from google.cloud import firestore

    from lib.store.firestore import FirestoreStore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator)
    project = f"e2e-{uuid.uuid4().hex[:12]}"
    store = FirestoreStore(firestore.Client(project=project))
    yield project, store
    store.close()


def test_allocation_and_reconciliation_on_firestore(start_simulator, firestore_store, firestore_emulator, tmp_path,
                                                     request):
    project, store = firestore_store
    seed(store, ACCOUNT)
    simulator = start_simulator()
    simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    service = ServiceProcess(ib_port=simulator.port, store_path=tmp_path / "unused.sqlite3",
                             log_path=tmp_path / "service.log",
                             env={"STORE_BACKEND": "firestore", "PROJECT_ID": project,
                                  "FIRESTORE_EMULATOR_HOST": firestore_emulator})
    request.addfinalizer(service.stop)
    service.start()
    service.wait_ready()

    body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
    status, result = service.request("POST", "/allocation", body)
    assert status == 200, result
    mnq = mnq_con_id(result)
    [order] = result["orders"]
    assert order["quantity"] == 2

    wait_until(lambda: {p["con_id"]: p["quantity"] for p in simulator.state()["positions"]} == {mnq: 2},
               timeout_s=10, what="the MNQ fill")
    status, reconciled = service.request("POST", "/trade-reconciliation")
    assert status == 200, reconciled
    assert store.get("positions/paper/holdings/dummy") == {str(mnq): 2}
    assert [doc.data for doc in store.query("positions/paper/openOrders")] == []

    status, again = service.request("POST", "/allocation", body)
    assert status == 200 and again["status"] == "duplicate"
    activities = [doc.data for doc in store.query("activity", where=[("intent", "==", "allocation")])]
    assert sorted(a["status"] for a in activities) == ["done", "done"]
    assert not (tmp_path / "unused.sqlite3").exists()
