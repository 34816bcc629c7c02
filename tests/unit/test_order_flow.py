"""send_recorded when the send fails: orders that certainly never left give their records and the claim's count
back, orders that may have left stay in flight (in-memory store; a bridge port stand-in decides the failure)."""
from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from ib_async import Contract

from lib.deadline import Deadline
from lib.errors import GatewayTimeout, GatewayUnavailable
from lib.gateway.port import BridgePort
from lib.store.memory import MemoryStore
from lib.trading.ledger import Ledger
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, reserve_order_ids, send_recorded
from lib.trading.run_claims import RunClaims
from tests.support.clock import NOW

MNQ = Contract(conId=730283085, symbol="MNQ", secType="FUT", localSymbol="MNQZ6")


class FailingSend(BridgePort):
    """Reserves orderIds like a connection (the gateway's clock at NOW), then fails the send: before the IB loop took it (`started` False, as
    when the bridge is not ready or the deadline has passed), or after it began sending."""

    def __init__(self, error: Exception, started: bool):
        self.error = error
        self.started = started

    @property
    def ready(self) -> bool:
        return True

    def status(self) -> dict:
        return {"connected": True, "ready": True, "lastError": None}

    def call(self, fn, timeout_s):
        raise AssertionError("send_recorded reads nothing with call()")

    def run(self, coro_fn, timeout_s):
        if isinstance(coro_fn, partial) and coro_fn.func is reserve_order_ids:
            first = max(41, coro_fn.keywords.get("above", 0) + 1)
            return 7, list(range(first, first + coro_fn.keywords["count"])), NOW
        if self.started:
            with pytest.raises(Placed):
                # the IB loop's part, up to its first placeOrder: it has opened the gate and is sending
                coro_fn(_Connection()).send(None)
        raise self.error


class Placed(Exception):
    """placeOrder was called."""


class _Connection:
    class client:
        clientId = 7

    class wrapper:
        trades: dict = {}

    def placeOrder(self, contract, order):
        raise Placed()


def send(store, bridge):
    claim, _ = RunClaims(store, "paper", "allocation").claim("sig", "run-1", NOW, timedelta(minutes=60), 60)
    ledger = Ledger(store, "paper")
    result = SendResult()
    with pytest.raises(type(bridge.error)):
        send_recorded(bridge, ledger, [StrategyOrder(MNQ, 2, {"dummy": 2})], OrderStyle(order_ref="allocation-run-1"),
                      Deadline(30), lambda: NOW.isoformat(), result, claim)
    claim.finish("failed")
    return ledger, result


@pytest.mark.parametrize("error", [GatewayUnavailable("IB Gateway is not ready (connecting)"),
                                   GatewayTimeout("time budget of 4 s exhausted")])
def test_orders_that_never_left_are_given_back(error):
    store = MemoryStore()
    ledger, result = send(store, FailingSend(error, started=False))
    assert ledger.open_orders() == [] and result.sent == 0
    assert store.get("runs/paper/allocation/sig") is None


def test_orders_that_may_have_left_stay_in_flight_and_keep_the_claim():
    store = MemoryStore()
    ledger, result = send(store, FailingSend(GatewayTimeout("gave up after 30 s"), started=True))
    [record] = ledger.open_orders()
    assert record["orderId"] == 41 and record["source"] == {"dummy": 2} and result.sent == 1
    assert store.get("runs/paper/allocation/sig")["ordersPlaced"] == 1


def test_an_order_id_that_still_has_a_record_is_not_used_again():
    """After a reconnect IB offers again an id whose order it never received (lost in a restart), while that
    order's record still waits to be cleared."""
    store = MemoryStore()
    Ledger(store, "paper").record_pending([{"orderId": 41, "clientId": 7, "conId": MNQ.conId, "orderRef": "lost",
                                            "quantity": 1, "source": {"dummy": 1}, "placedAt": NOW.isoformat()}])
    ledger, _ = send(store, FailingSend(GatewayTimeout("gave up after 30 s"), started=True))
    assert sorted((o["orderId"], o["orderRef"]) for o in ledger.open_orders()) == [
        (41, "lost"), (42, "allocation-run-1")]
