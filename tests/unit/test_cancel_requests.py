"""Cancel requests between workers through the store: served once, by the owner of the clientId, never late."""
import threading
from types import SimpleNamespace

from lib.gateway.port import BridgePort
from lib.store.memory import MemoryStore
from lib.trading.cancel_requests import (
    FAILED, REQUEST_TTL_S, REQUESTED, SENT, CancelRequests, CancelRequestServer, collection)


class _Worker(BridgePort):
    """A worker's bridge whose IB connection holds `client_id` and records the cancels sent on it."""

    def __init__(self, client_id: int, *, ready: bool = True):
        self.cancelled: list[int] = []
        self._ready = ready
        client = SimpleNamespace(clientId=client_id, cancelOrder=lambda order_id, _: self.cancelled.append(order_id))
        self.ib = SimpleNamespace(client=client, wrapper=SimpleNamespace(trades={}))

    @property
    def ready(self) -> bool:
        return self._ready

    def status(self) -> dict:
        return {"ready": self._ready, "clientId": self.ib.client.clientId}

    def call(self, fn, timeout_s):
        return fn(self.ib)

    def run(self, coro_fn, timeout_s):
        raise AssertionError("cancel requests make no coroutine calls")


def _record(client_id: int, order_id: int) -> dict:
    return {"clientId": client_id, "orderId": order_id, "permId": 0}


def _serve_while_asking(store, servers, records, now_s=lambda: 1000.0):
    """Ask for `records` while `servers` serve each round on a thread, as two workers would."""
    stop = threading.Event()

    def serve():
        while not stop.wait(0.01):
            for server in servers:
                server.serve_once()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        return CancelRequests(store, "paper", now_s).ask(records, "run-1", wait_s=2)
    finally:
        stop.set()
        thread.join()


def test_each_request_is_sent_once_by_the_worker_holding_its_client_id():
    store = MemoryStore()
    owner, other = _Worker(2), _Worker(3)
    servers = [CancelRequestServer(lambda: store, "paper", w, now_s=lambda: 1000.0) for w in (owner, other)]

    answers = _serve_while_asking(store, servers, [_record(2, 11), _record(2, 12)])

    assert sorted((a.record["orderId"], a.state) for a in answers) == [(11, SENT), (12, SENT)]
    assert sorted(owner.cancelled) == [11, 12] and other.cancelled == []
    assert store.query(collection("paper")) == []


def test_a_request_nobody_serves_is_withdrawn_and_no_later_worker_acts_on_it():
    store = MemoryStore()
    answers = CancelRequests(store, "paper", lambda: 1000.0).ask([_record(7, 11)], "run-1", wait_s=0.05)
    assert [(a.record["orderId"], a.state) for a in answers] == [(11, REQUESTED)]

    late = _Worker(7)
    assert CancelRequestServer(lambda: store, "paper", late).serve_once() == 0
    assert late.cancelled == [] and store.query(collection("paper")) == []


def test_a_request_older_than_its_time_to_live_is_dropped_unserved():
    store = MemoryStore()
    store.set(f"{collection('paper')}/c7-o11", {"clientId": 7, "orderId": 11, "permId": 0, "requestedBy": "run-0",
                                                "requestedAt": 1000.0, "state": REQUESTED})
    worker = _Worker(7)
    server = CancelRequestServer(lambda: store, "paper", worker, now_s=lambda: 1000.0 + REQUEST_TTL_S + 1)

    assert server.serve_once() == 0
    assert worker.cancelled == [] and store.query(collection("paper")) == []


def test_a_worker_that_cannot_send_answers_failed_with_the_reason():
    store = MemoryStore()
    broken = _Worker(4)

    def refuse(order_id, _):
        raise ConnectionError("socket closed")

    broken.ib.client.cancelOrder = refuse
    server = CancelRequestServer(lambda: store, "paper", broken, now_s=lambda: 1000.0)

    [answer] = _serve_while_asking(store, [server], [_record(4, 11)])
    assert answer.state == FAILED and "socket closed" in answer.error
