"""Finding 6 end to end: `reconcile` with `adopt` adopts what the broker holds beyond the ledger exactly once."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ib_async import MarketOrder, Stock

from tests.support.service_process import ServiceProcess

LATENCY_MS = 200


def test_simultaneous_adoptions_on_two_workers_adopt_a_position_once(trading, connect, tmp_path, request):
    t = trading(workers=1)
    # a second gunicorn on the same store and gateway: the two workers are certainly different processes
    second = ServiceProcess(ib_port=t.simulator.port, store_path=tmp_path / "store.sqlite3",
                            log_path=tmp_path / "second-service.log", workers=1, env={"IB_CLIENT_ID_BASE": "50"})
    request.addfinalizer(second.stop)
    second.start()
    second.wait_ready()
    person = connect(t.simulator)
    [aapl] = person.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    person.placeOrder(aapl, MarketOrder("BUY", 7))
    t.wait_filled({aapl.conId: 7})
    # every broker answer takes as long, so the requests measure the same difference and adopt it together
    t.simulator.admin("POST", "/latency", {"ms": LATENCY_MS})
    services = [t.service, second] * 2
    start = threading.Barrier(len(services))

    def adopt(service):
        start.wait()
        return service.request("POST", "/reconcile", {"adopt": True})

    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        answers = list(pool.map(adopt, services))
    assert [status for status, _ in answers] == [200] * len(services), answers
    assert sum(body["adopted"].get("AAPL", 0) for _, body in answers) == 7, answers
    assert t.holdings("manual") == {aapl.conId: 7}
    t.simulator.admin("POST", "/latency", {"ms": 0})
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
