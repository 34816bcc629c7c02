"""Single-flight broker reads through the bridge against the simulator: no stale replies, shared requests."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from ib_async import LimitOrder, MarketOrder, Stock

from lib.errors import GatewayTimeout
from lib.gateway import ib_requests, pacing
from lib.gateway.pacing import PACING_MESSAGES, PACING_WINDOW_S

CALL_TIMEOUT_S = 5
LATENCY_MS = 400
THROTTLE_S = 1.0


SPY = Stock(conId=756733, symbol="SPY", exchange="SMART", currency="USD")


def test_a_read_that_timed_out_never_answers_the_next_one(simulator, bridge):
    # Replies are computed when a request arrives and delivered LATENCY_MS later, as over a slow link: the first
    # read's reply (no orders yet) is still on its way when the order is placed and the second read is sent.
    simulator.call("set_latency", LATENCY_MS)
    with pytest.raises(GatewayTimeout):
        bridge.run(ib_requests.all_open_orders, timeout_s=LATENCY_MS / 1000 / 4)
    order_id = bridge.call(lambda ib: ib.placeOrder(SPY, LimitOrder("BUY", 1, 1.00, tif="GTC")).order.orderId,
                           timeout_s=CALL_TIMEOUT_S)

    listed = bridge.run(ib_requests.all_open_orders, timeout_s=CALL_TIMEOUT_S)

    assert order_id in {t.order.orderId for t in listed}


def test_concurrent_callers_share_one_request_that_started_after_they_asked(simulator, bridge):
    simulator.call("set_latency", LATENCY_MS)
    bridge.run(ib_requests.all_open_orders, timeout_s=CALL_TIMEOUT_S)
    before = bridge.call(lambda ib: ib_requests.flight(ib, "openOrders", ib.reqAllOpenOrdersAsync).started,
                         timeout_s=CALL_TIMEOUT_S)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: bridge.run(ib_requests.all_open_orders, timeout_s=CALL_TIMEOUT_S),
                                range(8)))

    started = bridge.call(lambda ib: ib_requests.flight(ib, "openOrders", ib.reqAllOpenOrdersAsync).started,
                          timeout_s=CALL_TIMEOUT_S) - before
    assert all(reply == [] for reply in replies)
    # the first caller's request, and at most one more for everyone who asked while it was in flight
    assert 1 <= started <= 2


def test_callers_who_ask_while_the_connection_throttles_share_the_request_sent_when_it_stops(bridge):
    def throttle(ib):
        started = ib_requests.flight(ib, "openOrders", ib.reqAllOpenOrdersAsync).started
        # one message per THROTTLE_S: a second reqCurrentTime waits in the service's pacing queue
        pacing.pacer(ib).set_rate(1, THROTTLE_S)
        ib.client.reqCurrentTime()
        ib.client.reqCurrentTime()
        return started

    def unthrottle(ib):
        pacing.pacer(ib).set_rate(PACING_MESSAGES, PACING_WINDOW_S)

    before = bridge.call(throttle, timeout_s=CALL_TIMEOUT_S)
    try:
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(
                lambda _: bridge.run(ib_requests.all_open_orders, timeout_s=CALL_TIMEOUT_S), range(8)))
        started = bridge.call(lambda ib: ib_requests.flight(ib, "openOrders", ib.reqAllOpenOrdersAsync).started,
                              timeout_s=CALL_TIMEOUT_S) - before
    finally:
        bridge.call(unthrottle, timeout_s=CALL_TIMEOUT_S)
    assert all(reply == [] for reply in replies)
    # handed over at once, the first caller's request would wait in the queue and the others form a second one
    assert started == 1


def test_executions_the_connection_saw_live_keep_their_commission(bridge):
    # ib_async files the commission report on the Fill it made when the execution arrived live; a later
    # reqExecutions answers with a new Fill for it, whose report is empty
    async def buy_and_wait_for_commission(ib):
        trade = ib.placeOrder(SPY, MarketOrder("BUY", 3))
        while not (trade.fills and trade.fills[0].commissionReport.execId):
            await trade.commissionReportEvent
        return trade.fills[0].execution.execId

    exec_id = bridge.run(buy_and_wait_for_commission, timeout_s=CALL_TIMEOUT_S)
    fills = bridge.run(ib_requests.executions, timeout_s=CALL_TIMEOUT_S)

    [fill] = [f for f in fills if f.execution.execId == exec_id]
    assert fill.commissionReport.execId == exec_id and fill.commissionReport.commission > 0
