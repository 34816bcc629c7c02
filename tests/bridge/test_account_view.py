"""The dashboard's broker read against the simulator through the bridge: portfolio values, positions, the broker's
clock and every client's working orders as plain data."""
import pytest
from ib_async import LimitOrder, MarketOrder, Stock

from lib.broker.account_view import account_view
from tests.support.simulator_process import wait_until

CALL_TIMEOUT_S = 5


async def trade(ib, order):
    [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
    placed = ib.placeOrder(spy, order)
    while placed.orderStatus.status not in ("Filled", "Submitted"):
        await placed.statusEvent
    return spy.conId


def test_the_account_view_copies_values_positions_and_working_orders(simulator, bridge, connect):
    con_id = bridge.run(lambda ib: trade(ib, MarketOrder("BUY", 10)), timeout_s=CALL_TIMEOUT_S)
    person = connect(simulator)
    [spy] = person.qualifyContracts(Stock("SPY", "SMART", "USD"))
    person.placeOrder(spy, LimitOrder("SELL", 4, 9999.0, tif="GTC", orderRef="by-hand"))

    view = wait_until(lambda: (lambda v: v if v.portfolio and v.working_orders else None)(
        bridge.run(account_view, timeout_s=CALL_TIMEOUT_S)), what="the SPY position and the person's order",
        pump=person.sleep)
    [line] = view.portfolio
    assert (line.con_id, line.local_symbol, line.position) == (con_id, "SPY", 10)
    assert line.market_value == pytest.approx(10 * line.market_price, rel=1e-6)
    assert line.unrealized_pnl == pytest.approx(line.market_value - 10 * line.average_cost, abs=0.01)
    assert [(p.con_id, p.position) for p in view.positions] == [(con_id, 10)]
    [order] = view.working_orders
    assert (order.con_id, order.action, order.total_quantity, order.order_type, order.limit_price) == \
        (con_id, "SELL", 4, "LMT", 9999.0)
    assert order.order_ref == "by-hand" and order.client_id == person.client.clientId and order.perm_id
    assert view.broker_time.tzinfo is not None
    assert any(v.tag == "NetLiquidation" for v in view.account_values)
