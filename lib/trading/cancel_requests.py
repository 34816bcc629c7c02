"""Cancels that reach the worker whose clientId placed an order, through the store.

IB lets only the client that placed an order cancel it (TWS API, "Cancelling Orders": cancelOrder "can only be used
to cancel an order that was placed originally by a client with the same client ID"). Each gunicorn worker holds one
clientId of the service's pool, so a run on one worker asks the owner of the others' orders to cancel them: it
writes a request per order under `cancelRequests/{mode}/orders/c{clientId}-o{orderId}`, and every worker serves the
requests addressed to its current clientId within `SERVE_INTERVAL_S` from a thread of its own (never the IB
loop: the store blocks), sending the cancel through its bridge. A request moves from "requested" to "sending" in a
transaction, so it is served at most once, and a requester that stops waiting withdraws only what nobody took up.
A request nobody served within `REQUEST_TTL_S` (its requester died) expires unserved: a later worker never cancels
an order on a request its requester gave up on.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from lib.gateway.port import BridgePort
from lib.store.errors import NotFound

log = logging.getLogger(__name__)

# a query a second per worker: an idle service reads Firestore about 86,400 times a day per worker for this
SERVE_INTERVAL_S = 1.0
REQUEST_TTL_S = 30.0
CANCEL_CALL_S = 5.0

REQUESTED, SENDING, SENT, FAILED = "requested", "sending", "sent", "failed"


def collection(mode: str) -> str:
    return f"cancelRequests/{mode}/orders"


def request_path(mode: str, client_id: int, order_id: int) -> str:
    return f"{collection(mode)}/c{client_id}-o{order_id}"


@dataclass(frozen=True)
class Answer:
    """What became of one request: `state` SENT or FAILED (with `error`), or REQUESTED when nobody served it."""

    record: dict
    state: str
    error: str = ""


class CancelRequests:
    """The requesting side: ask the owners of `records` (ledger order records) to cancel them, and learn who did.

    Parameters:
        store: the DocumentStore.
        mode: the trading mode.
        now_s: wall-clock seconds (time.time), for request ages.
    """

    def __init__(self, store, mode: str, now_s: Callable[[], float] = time.time):
        self.store = store
        self.mode = mode
        self.now_s = now_s

    def ask(self, records: list[dict], requested_by: str, wait_s: float) -> list[Answer]:
        """Request a cancel of each record's order and wait up to `wait_s` for its owner to send it; requests
        nobody took up are withdrawn. Every request this call wrote is gone when it returns."""
        paths = {request_path(self.mode, r["clientId"], r["orderId"]): r for r in records}
        for path, record in paths.items():
            self.store.set(path, {"clientId": record["clientId"], "orderId": record["orderId"],
                                  "permId": record.get("permId") or 0, "requestedBy": requested_by,
                                  "requestedAt": self.now_s(), "state": REQUESTED})
        deadline = time.monotonic() + wait_s
        states = {}
        while True:
            states = {path: self.store.get(path) or {} for path in paths}
            if all(doc.get("state") in (SENT, FAILED) for doc in states.values()) or time.monotonic() >= deadline:
                break
            time.sleep(SERVE_INTERVAL_S / 2)
        answers = []
        for path, record in paths.items():
            doc = states[path]
            state = doc.get("state")
            if state == SENDING:
                # taken up just now: the owner is sending it, so it counts as sent
                state = SENT
            elif state not in (SENT, FAILED) and not self._withdraw(path):
                state = SENT
            answers.append(Answer(record, state if state in (SENT, FAILED) else REQUESTED, doc.get("error", "")))
            self.store.delete(path)
        return answers

    def _withdraw(self, path: str) -> bool:
        """Delete a request nobody took up; False when its owner took it up meanwhile."""
        def withdraw(tx):
            doc = tx.get(path)
            if doc is not None and doc.get("state") != REQUESTED:
                return False
            if doc is not None:
                tx.delete(path)
            return True

        return self.store.run_transaction(withdraw)


class CancelRequestServer:
    """Serves, on a thread of the worker, the cancel requests addressed to the clientId its bridge holds.

    Parameters:
        store: a callable returning the DocumentStore (the worker opens it lazily).
        mode: the trading mode.
        bridge: the worker's bridge.
        interval_s: how often the requests are read.
    """

    def __init__(self, store: Callable[[], object], mode: str, bridge: BridgePort, *,
                 interval_s: float = SERVE_INTERVAL_S, now_s: Callable[[], float] = time.time):
        self._store = store
        self.mode = mode
        self.bridge = bridge
        self.interval_s = interval_s
        self.now_s = now_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.served = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cancel-requests", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + CANCEL_CALL_S)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.serve_once()
            except Exception as exc:  # the next round tries again; a request left unserved is withdrawn by its asker
                log.warning("serving cancel requests failed: %s: %s", type(exc).__name__, exc)

    def serve_once(self) -> int:
        """Send the cancels requested for this worker's clientId; returns how many were sent."""
        status = self.bridge.status()
        if not status.get("ready"):
            return 0
        client_id = status["clientId"]
        store = self._store()
        pending = store.query(collection(self.mode), where=[("clientId", "==", client_id),
                                                            ("state", "==", REQUESTED)])
        sent = 0
        for doc in pending:
            path = f"{collection(self.mode)}/{doc.id}"
            if not self._take(store, path):
                continue
            try:
                self.bridge.call(lambda ib, order_id=doc.data["orderId"]: _cancel(ib, client_id, order_id),
                                 timeout_s=CANCEL_CALL_S)
            except Exception as exc:
                _answer(store, path, {"state": FAILED, "error": f"{type(exc).__name__}: {exc}"})
                continue
            _answer(store, path, {"state": SENT, "servedBy": os.getpid(), "servedAt": self.now_s()})
            log.info("cancel of order %s (clientId %s) sent for run %s", doc.data["orderId"], client_id,
                     doc.data.get("requestedBy"))
            sent += 1
        self.served += sent
        return sent

    def _take(self, store, path: str) -> bool:
        """Move a request from requested to sending; an expired one is deleted instead."""
        def take(tx):
            doc = tx.get(path)
            if doc is None or doc.get("state") != REQUESTED:
                return False
            if self.now_s() - doc.get("requestedAt", 0) > REQUEST_TTL_S:
                tx.delete(path)
                return False
            tx.update(path, {"state": SENDING})
            return True

        return store.run_transaction(take)


def _answer(store, path: str, fields: dict) -> None:
    # a requester that saw the request taken up counts it as sent and may have deleted it already
    with contextlib.suppress(NotFound):
        store.update(path, fields)


def _cancel(ib, client_id: int, order_id: int) -> None:
    """On the IB loop: cancel order `order_id` of this connection's clientId by its own id."""
    if ib.client.clientId != client_id:
        raise ConnectionError(f"the connection now holds clientId {ib.client.clientId}, not {client_id}")
    trade = ib.wrapper.trades.get((client_id, order_id))
    if trade is not None:
        ib.cancelOrder(trade.order)
    else:
        ib.client.cancelOrder(order_id, "")
