"""Cancelling the service's own working orders, and never an order it did not place.

IB lets an API client cancel only the orders it placed itself (EClient::cancelOrder "can only be used to cancel an
order that was placed originally by a client with the same client ID"), while EClient::reqGlobalCancel "will cancel
all open orders, regardless of how they were originally placed" (TWS API, Cancelling Orders): a person's GTC
take-profit or protective stop entered in TWS included. So a global cancel is sent only when every order the
broker lists as working is one of those to cancel; otherwise each order of this connection's clientId is cancelled
by itself, and an order another clientId placed (another worker of the service, or an earlier connection) is left
working and reported: no client can cancel it but its own.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ib_async import IB

from lib.gateway import ib_requests

CANCEL_POLL_S = 0.1

OTHER_CLIENT = ("placed through clientId {client_id}, not this connection's ({own}): IB lets only the client that "
                "placed an order cancel it, and a global cancel would also cancel orders the service did not place")
STILL_WORKING = "cancel requested; IB still lists it as working"


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


async def cancel_recorded(ib: IB, targets: list[dict], timeout_s: float) -> CancelOutcome:
    """Cancel the broker orders behind `targets` (order records of the service) and wait until IB no longer lists
    them as working, or `timeout_s` has passed. Run on the IB loop.

    A global cancel is sent only when every working order is one of `targets`: any other open order, whether the
    service's own or not the service's at all (a person's order in TWS, matching no record), rules it out.
    """
    outcome = CancelOutcome()
    trades = await ib_requests.all_open_orders(ib)
    working = _working(targets, trades)
    untargeted = [t for t in trades if all(t is not trade for _, trade in working)]
    requested = []
    if working and not untargeted:
        ib.reqGlobalCancel()
        requested = working
    else:
        own = ib.client.clientId
        for record, trade in working:
            if record["clientId"] == own:
                ib.cancelOrder(trade.order)
                requested.append((record, trade))
            else:
                outcome.left_working.append({**record, "reason": OTHER_CLIENT.format(client_id=record["clientId"],
                                                                                     own=own)})
    still = await _wait_gone(ib, [record for record, _ in requested], timeout_s) if requested else []
    for record, _ in requested:
        if any(record is other for other in still):
            outcome.left_working.append({**record, "reason": STILL_WORKING})
        else:
            outcome.cancelled.append(record)
    return outcome


async def _wait_gone(ib: IB, records: list[dict], timeout_s: float) -> list[dict]:
    """The records whose orders IB still lists as working once none is, or once `timeout_s` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        still = [record for record, _ in _working(records, await ib_requests.all_open_orders(ib))]
        if not still or loop.time() >= deadline:
            return still
        await asyncio.sleep(CANCEL_POLL_S)
