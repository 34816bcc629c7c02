"""Acceptance: order lifecycles through the client library: fills, commissions, resting limits, rejections, visibility."""

import pytest

from tests.support.iblib import Contract, LimitOrder, MarketOrder, Stock, TagValue
from tests.support.simulator_process import wait_until


def qualified(ib, symbol: str) -> Contract:
    stock = Stock(symbol, "SMART", "USD")
    assert ib.qualifyContracts(stock) == [stock]
    return stock


def tiered_commission(shares: float, price: float) -> float:
    """IB's tiered US stock commission: $0.0035 a share, at least $0.35, at most 1% of the trade value."""
    return max(0.35, min(0.0035 * shares, 0.01 * shares * price))


def open_perm_ids(simulator) -> set[int]:
    return {order["perm_id"] for order in simulator.state()["open_orders"]}


def test_market_order_fills_with_execution_and_commission(simulator, ib):
    spy = qualified(ib, "SPY")
    [ticker] = ib.reqTickers(spy)
    trade = ib.placeOrder(spy, MarketOrder("BUY", 300, orderRef="acceptance-mkt", account=simulator.account,
                                           algoStrategy="Adaptive",
                                           algoParams=[TagValue("adaptivePriority", "Normal")]))
    wait_until(lambda: trade.isDone() and trade.fills and trade.fills[-1].commissionReport.execId,
               what="fill with commission report", pump=ib.waitOnUpdate)
    assert trade.orderStatus.status == "Filled" and trade.orderStatus.filled == 300
    assert trade.orderStatus.remaining == 0 and trade.order.permId > 0
    statuses = [entry.status for entry in trade.log]
    assert "Submitted" in statuses and statuses[-1] == "Filled"
    [fill] = trade.fills
    execution, report = fill.execution, fill.commissionReport
    assert (execution.side, execution.shares, execution.cumQty) == ("BOT", 300, 300)
    assert execution.price == ticker.ask == trade.orderStatus.avgFillPrice
    assert execution.orderRef == "acceptance-mkt" and execution.acctNumber == simulator.account
    assert execution.permId == trade.order.permId and execution.execId
    assert report.execId == execution.execId and report.currency == "USD"
    assert report.commission == pytest.approx(tiered_commission(300, execution.price), abs=0.005)
    assert execution.execId in {f.execution.execId for f in ib.reqExecutions()}
    assert execution.execId in {e["exec_id"] for e in simulator.state()["executions"]}
    wait_until(lambda: any(p.contract.conId == spy.conId and p.position >= 300 for p in ib.positions()),
               what="SPY position", pump=ib.waitOnUpdate)


def test_sell_market_order_fills_at_the_bid(ib):
    tlt = qualified(ib, "TLT")
    [ticker] = ib.reqTickers(tlt)
    trade = ib.placeOrder(tlt, MarketOrder("SELL", 7))
    wait_until(trade.isDone, what="sell filled", pump=ib.waitOnUpdate)
    assert trade.orderStatus.status == "Filled"
    assert trade.fills[0].execution.side == "SLD" and trade.fills[0].execution.price == ticker.bid


def test_limit_order_rests_then_cancels(simulator, ib):
    spy = qualified(ib, "SPY")
    [ticker] = ib.reqTickers(spy)
    limit = round(ticker.bid * 0.9, 2)
    trade = ib.placeOrder(spy, LimitOrder("BUY", 5, limit, tif="GTC", orderRef="acceptance-lmt"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    assert trade.order.permId in open_perm_ids(simulator)
    # a wrongly eager fill would arrive within this window (fills come a few ms after acceptance)
    ib.sleep(0.2)
    assert trade.orderStatus.status == "Submitted" and not trade.fills and trade in ib.openTrades()
    ib.cancelOrder(trade.order)
    wait_until(lambda: trade.orderStatus.status == "Cancelled", what="Cancelled", pump=ib.waitOnUpdate)
    assert not trade.fills and trade not in ib.openTrades()
    assert trade.order.permId not in open_perm_ids(simulator)
    completed = {o["perm_id"]: o for o in simulator.state()["completed_orders"]}
    assert completed[trade.order.permId]["status"] == "Cancelled"


def test_limit_order_fills_when_the_price_crosses(simulator, ib):
    gld = qualified(ib, "GLD")
    [ticker] = ib.reqTickers(gld)
    limit = round(ticker.bid * 0.97, 2)
    trade = ib.placeOrder(gld, LimitOrder("BUY", 4, limit, tif="GTC"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    simulator.admin("POST", "/price", {"symbol": "GLD", "price": round(limit * 0.99, 2)})
    wait_until(lambda: trade.orderStatus.status == "Filled", what="limit fill", pump=ib.waitOnUpdate)
    assert trade.orderStatus.avgFillPrice <= limit


REJECTIONS = {
    "zero quantity": (lambda ib: qualified(ib, "SPY"), MarketOrder("BUY", 0), 201, "size"),
    "unknown conId": (lambda ib: Contract(conId=999999999, exchange="SMART"), MarketOrder("BUY", 1), 200,
                      "No security definition has been found for the request"),
    "insufficient buying power": (lambda ib: qualified(ib, "SPY"), MarketOrder("BUY", 100_000), 201,
                                  "EQUITY WITH LOAN VALUE"),
}


@pytest.mark.parametrize("kind", REJECTIONS)
def test_invalid_orders_are_rejected_with_ib_codes(ib, kind):
    contract_for, order, code, text = REJECTIONS[kind]
    trade = ib.placeOrder(contract_for(ib), order)
    # an order IB's servers refuse ends Inactive (ib_insync does not count that as done), one TWS refuses Cancelled
    wait_until(lambda: trade.orderStatus.status in ("Cancelled", "Inactive"), what=f"{kind} rejection",
               pump=ib.waitOnUpdate)
    assert trade.orderStatus.status in ("Cancelled", "Inactive") and not trade.fills
    errors = [(entry.errorCode, entry.message) for entry in trade.log if entry.errorCode]
    assert errors and errors[0][0] == code, errors
    assert text.lower() in errors[0][1].lower(), errors


def test_reject_next_rejects_exactly_one_order(simulator, ib):
    spy = qualified(ib, "SPY")
    simulator.admin("POST", "/reject-next", {"code": 201, "text": "Order rejected - reason:simulated outage"})
    rejected = ib.placeOrder(spy, MarketOrder("BUY", 1))
    wait_until(lambda: rejected.orderStatus.status == "Inactive", what="rejection", pump=ib.waitOnUpdate)
    assert not rejected.fills
    assert any(entry.errorCode == 201 and "Order rejected - reason:simulated outage" in entry.message
               for entry in rejected.log), rejected.log
    accepted = ib.placeOrder(spy, MarketOrder("BUY", 1))
    wait_until(accepted.isDone, what="next order filled", pump=ib.waitOnUpdate)
    assert accepted.orderStatus.status == "Filled"


def test_partial_fills_arrive_as_several_executions(simulator, ib):
    simulator.admin("POST", "/partial-fills", {"pieces": 3})
    try:
        iwm = qualified(ib, "IWM")
        trade = ib.placeOrder(iwm, MarketOrder("BUY", 30))
        statuses = []
        trade.statusEvent += lambda t: statuses.append((t.orderStatus.status, t.orderStatus.filled))
        wait_until(lambda: trade.isDone() and len(trade.fills) == 3
                   and all(f.commissionReport.execId for f in trade.fills),
                   what="three partial fills", pump=ib.waitOnUpdate)
    finally:
        simulator.admin("POST", "/partial-fills", {"pieces": 1})
    assert trade.orderStatus.status == "Filled" and trade.orderStatus.filled == 30
    assert [f.execution.cumQty for f in trade.fills] == [10, 20, 30]
    assert [f.execution.shares for f in trade.fills] == [10, 10, 10]
    assert len({f.execution.execId for f in trade.fills}) == 3
    assert all(f.commissionReport.commission > 0 for f in trade.fills)
    assert [s for s in statuses if s[1]] == [("Submitted", 10), ("Submitted", 20), ("Filled", 30)]
    assert simulator.state()["settings"]["partial_fill_pieces"] == 1


def test_two_clients_see_only_their_own_orders_unless_asking_for_all(simulator, connect):
    alice, bob = connect(simulator), connect(simulator)
    spy = qualified(alice, "SPY")
    [ticker] = alice.reqTickers(spy)
    trade = alice.placeOrder(spy, LimitOrder("SELL", 1, round(ticker.ask * 1.5, 2), tif="GTC"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=alice.waitOnUpdate)
    perm_id = trade.order.permId
    try:
        assert perm_id in {t.order.permId for t in alice.reqOpenOrders()}
        assert perm_id not in {t.order.permId for t in bob.openTrades()}
        assert perm_id not in {t.order.permId for t in bob.reqOpenOrders()}
        everyone = {t.order.permId: t for t in bob.reqAllOpenOrders()}
        assert perm_id in everyone
        assert everyone[perm_id].order.clientId == alice.client.clientId
        assert everyone[perm_id].order.lmtPrice == trade.order.lmtPrice
    finally:
        alice.cancelOrder(trade.order)
        wait_until(lambda: trade.orderStatus.status == "Cancelled", what="Cancelled", pump=alice.waitOnUpdate)


def test_clock_step_releases_a_good_after_time_order(start_simulator, connect, sim_now):
    simulator = start_simulator(seed=5)
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    trade = ib.placeOrder(spy, MarketOrder("BUY", 10, goodAfterTime="20261124-16:30:00", tif="DAY"))
    wait_until(lambda: trade.orderStatus.status == "PreSubmitted", what="PreSubmitted", pump=ib.waitOnUpdate)
    simulator.admin("POST", "/clock/step", {"seconds": 1800})
    [held] = [o for o in simulator.state()["open_orders"] if o["perm_id"] == trade.order.permId]
    assert held["filled"] == 0 and not trade.fills
    simulator.admin("POST", "/clock/step", {"seconds": 1800})
    wait_until(lambda: trade.orderStatus.status == "Filled", what="released fill", pump=ib.waitOnUpdate)
    fill_time = trade.fills[0].execution.time
    assert fill_time >= sim_now.replace(hour=16, minute=30)


def test_clock_step_moves_prices_until_a_limit_fills(start_simulator, connect):
    simulator = start_simulator(seed=5)
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    [ticker] = ib.reqTickers(spy)
    limit = round(ticker.bid * 0.995, 2)
    trade = ib.placeOrder(spy, LimitOrder("BUY", 2, limit, tif="GTC", outsideRth=True))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    steps = 0
    # the price path moves on a 30-minute grid; walk it until it crosses the limit (at most 20 trading days)
    while trade.order.permId in open_perm_ids(simulator):
        assert steps < 20 * 48, "the price never crossed the limit"
        simulator.admin("POST", "/clock/step", {"seconds": 1800})
        steps += 1
    assert steps > 0
    wait_until(lambda: trade.orderStatus.status == "Filled", what="limit fill", pump=ib.waitOnUpdate)
    assert trade.orderStatus.avgFillPrice <= limit


def _order_errors(ib) -> list[tuple[int, int]]:
    seen = []
    ib.errorEvent += lambda req_id, code, message, contract: seen.append((req_id, code))
    return seen


def _resting(ib, contract, order_id: int = 0):
    trade = ib.placeOrder(contract, LimitOrder("BUY", 1, 1.00, tif="GTC", orderId=order_id))
    wait_until(lambda: trade.orderStatus.permId, what="IB's answer to the order", pump=ib.waitOnUpdate)
    return trade


def test_a_new_order_id_not_above_every_id_the_client_used_is_refused_with_103(simulator, connect):
    # TWS API, Placing Orders, The Next Valid Identifier: new ids only grow
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    errors = _order_errors(ib)
    skipped = ib.client.getReqId() + 5
    _resting(ib, spy, skipped)

    lower = ib.placeOrder(spy, LimitOrder("BUY", 1, 1.00, tif="GTC", orderId=skipped - 2))
    wait_until(lambda: (skipped - 2, 103) in errors, what="103 on the lower id", pump=ib.waitOnUpdate)

    assert lower.order.permId == 0
    assert skipped - 2 not in {o["order_id"] for o in simulator.state()["open_orders"]
                               if o["client_id"] == ib.client.clientId}
    higher = _resting(ib, spy, skipped + 1)
    assert higher.order.permId and (skipped + 1, 103) not in errors


def test_an_order_id_another_client_showed_in_open_orders_raises_the_floor(simulator, connect):
    # "if the function reqAllOpenOrders is used by a client, subsequent orders placed by that client must have
    # order IDs greater than the order IDs returned" (TWS API, The Next Valid Identifier)
    first, second = connect(simulator), connect(simulator)
    spy = qualified(first, "SPY")
    shown = _resting(first, spy, first.client.getReqId() + 400).order.orderId
    assert shown in {t.order.orderId for t in second.reqAllOpenOrders()}
    errors = _order_errors(second)

    below = second.placeOrder(spy, LimitOrder("BUY", 1, 1.00, tif="GTC", orderId=shown - 1))
    wait_until(lambda: (shown - 1, 103) in errors, what="103 under the shown id", pump=second.waitOnUpdate)

    assert below.order.permId == 0
    assert _resting(second, spy, shown + 1).order.permId
