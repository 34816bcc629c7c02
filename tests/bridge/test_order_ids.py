"""IB's orderId rule through the bridge: an order IB listed between reserving ids and sending does not get the
service's orders refused with 103 (TWS API, Placing Orders, "The Next Valid Identifier")."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ib_async import IB, LimitOrder, Stock

from lib.deadline import Deadline
from lib.gateway import ib_requests
from lib.store.memory import MemoryStore
from lib.trading.ledger import Ledger
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, send_recorded
from lib.trading.run_claims import RunClaims
from tests.support.clients import next_client_id
from tests.support.simulator_process import wait_until

CALL_TIMEOUT_S = 5
NOW = datetime.now(timezone.utc)


class PersonBetweenRecordAndSend(Ledger):
    """The ledger of a run during which a person's order with a higher id reaches IB, and the service's connection
    is shown it (any reqAllOpenOrders: the other worker's close-all, a summary) after the ids were reserved."""

    def __init__(self, store, bridge, person: IB, spy):
        super().__init__(store, "paper")
        self.bridge, self.person, self.spy = bridge, person, spy
        self.shown: list[int] = []

    def record_pending(self, orders):
        super().record_pending(orders)
        if self.shown:
            return
        high = max(order["orderId"] for order in orders) + 20
        trade = self.person.placeOrder(self.spy, LimitOrder("BUY", 1, 1.00, tif="GTC", orderId=high))
        wait_until(lambda: trade.orderStatus.permId, what="the person's order at IB", pump=self.person.sleep)
        listed = self.bridge.run(ib_requests.all_open_orders, timeout_s=CALL_TIMEOUT_S)
        assert high in {t.order.orderId for t in listed}
        self.shown.append(high)


def test_an_order_listed_between_reserving_ids_and_sending_does_not_get_the_orders_refused(simulator, bridge):
    person = IB()
    person.connect(simulator.host, simulator.port, clientId=next_client_id(), timeout=CALL_TIMEOUT_S)
    try:
        [spy] = person.qualifyContracts(Stock("SPY", "SMART", "USD"))
        store = MemoryStore()
        ledger = PersonBetweenRecordAndSend(store, bridge, person, spy)
        claim, _ = RunClaims(store, "paper", "allocation").claim("sig", "run-1", NOW, timedelta(minutes=60), 60)

        result = send_recorded(bridge, ledger, [StrategyOrder(spy, 3, {"dummy": 3})],
                               OrderStyle(order_ref="allocation-run-1"), Deadline(30), lambda: NOW.isoformat(),
                               SendResult(), claim)
    finally:
        person.disconnect()

    [report] = result.reports
    assert report["errorCode"] == 0 and report["status"] in ("PreSubmitted", "Submitted", "Filled"), report
    assert report["orderId"] > ledger.shown[0]
    assert store.get("runs/paper/allocation/sig")["ordersPlaced"] == 1
    assert {o["orderId"] for o in ledger.open_orders()} <= {report["orderId"]}
