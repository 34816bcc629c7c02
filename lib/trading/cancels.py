"""Cancelling the service's own working orders, each by its own id, and never an order it did not place.

IB lets an API client cancel only the orders "placed originally by a client with the same client ID", while
EClient::reqGlobalCancel "will cancel all open orders, regardless of how they were originally placed" (TWS API,
Cancelling Orders): a person's GTC take-profit or protective stop entered in TWS included, and any order entered
between IB's list of open orders and the global cancel. So the service never sends a global cancel: each order of
this connection's clientId is cancelled by its own id here, and an order another worker's clientId placed is
cancelled by that worker on request (`cancel_requests`). An order of a clientId no worker holds now is left working
and reported with what the operator can do. Then IB's open orders are read until none of the cancelled ones is
listed as working, within the budget.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import partial

from ib_async import IB

from lib.gateway import ib_requests
from lib.trading.cancel_requests import FAILED, SENT, CancelRequests

CANCEL_POLL_S = 0.1

NO_WORKER = ("placed through clientId {client_id}, which no worker of the service holds now: IB lets only that "
             "clientId cancel it. A worker takes the id back when the service restarts (the pool is "
             "IB_CLIENT_ID_BASE .. + WEB_CONCURRENCY - 1); run close-all again then, or cancel it in TWS")
REQUEST_FAILED = "the worker holding clientId {client_id} could not send the cancel: {error}"
STILL_WORKING = "cancel requested; IB still lists it as working"
# how long a run waits for the worker that owns an order to take up its cancel request
SERVE_WAIT_S = 4.0


@dataclass
class CancelOutcome:
    """Order records whose orders IB no longer lists as working, and those left working, each with `reason`."""

    cancelled: list[dict] = field(default_factory=list)
    left_working: list[dict] = field(default_factory=list)


def _is_record_of(record: dict, trade) -> bool:
    """Whether the broker's open order `trade` is the one behind `record` (permId first, else the ids it was sent
    with)."""
    if record.get("permId") and trade.order.permId:
        return record["permId"] == trade.order.permId
    return (record["clientId"], record["orderId"]) == (trade.order.clientId, trade.order.orderId)


def _working(records: list[dict], trades) -> list[tuple[dict, object]]:
    return [(record, trade) for record in records for trade in trades if _is_record_of(record, trade)]


def cancel_orders(bridge, store, mode: str, targets: list[dict], requested_by: str,
                  timeout_s: float) -> CancelOutcome:
    """Cancel the broker orders behind `targets` (order records of the service), each by its own id through the
    worker whose clientId placed it, and wait until IB no longer lists them as working or `timeout_s` has passed.
    Call from a request thread (the requests to other workers go through the store)."""
    started = time.monotonic()
    outcome = CancelOutcome()
    requested, others = bridge.run(partial(_cancel_own, targets=targets), timeout_s=timeout_s)
    if others:
        wait_s = max(0.0, min(SERVE_WAIT_S, timeout_s - (time.monotonic() - started)))
        for answer in CancelRequests(store, mode).ask(others, requested_by, wait_s):
            if answer.state == SENT:
                requested.append(answer.record)
            elif answer.state == FAILED:
                outcome.left_working.append({**answer.record, "reason": REQUEST_FAILED.format(
                    client_id=answer.record["clientId"], error=answer.error)})
            else:
                outcome.left_working.append({**answer.record,
                                             "reason": NO_WORKER.format(client_id=answer.record["clientId"])})
    if not requested:
        return outcome
    remaining_s = max(0.5, timeout_s - (time.monotonic() - started))
    still = bridge.run(partial(_wait_gone, records=requested, timeout_s=remaining_s), timeout_s=remaining_s + 5)
    for record in requested:
        if any(record is other for other in still):
            outcome.left_working.append({**record, "reason": STILL_WORKING})
        else:
            outcome.cancelled.append(record)
    return outcome


async def _cancel_own(ib: IB, targets: list[dict]) -> tuple[list[dict], list[dict]]:
    """On the IB loop: cancel, each by its own id, the targets of this connection's clientId that IB lists as
    working; returns them and the targets IB lists as working under other clientIds."""
    own = ib.client.clientId
    requested, others = [], []
    for record, trade in _working(targets, await ib_requests.all_open_orders(ib)):
        if trade.order.clientId == own:
            ib.cancelOrder(trade.order)
            requested.append(record)
        else:
            others.append(record)
    return requested, others


async def _wait_gone(ib: IB, records: list[dict], timeout_s: float) -> list[dict]:
    """The records whose orders IB still lists as working once none is, or once `timeout_s` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        still = [record for record, _ in _working(records, await ib_requests.all_open_orders(ib))]
        if not still or loop.time() >= deadline:
            return still
        await asyncio.sleep(CANCEL_POLL_S)
