"""Acceptance: IB's order types through the client library, on an in-process simulator in step mode whose prices
the test moves across the trigger levels: stops, stop-limits, trailing stops, bracket orders (one OCA group),
closing and opening auction orders, and the Forex position an IDEALPRO trade leaves."""

import pytest

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clients import next_client_id
from tests.support.clock import NOW
from tests.support.iblib import (
    IB, Forex, LimitOrder, MarketOrder, Order, Stock, StopLimitOrder, StopOrder, reported_status)
from tests.support.simulator_process import wait_until


def start(request) -> SimulatorThread:
    sim = SimulatorThread(SimulatorConfig(port=0, now=NOW, fills="step")).__enter__()
    request.addfinalizer(lambda: sim.__exit__(None, None, None))
    return sim


@pytest.fixture(scope="module")
def sim(request):
    return start(request)


def client(request, sim) -> IB:
    ib = IB()
    request.addfinalizer(ib.disconnect)
    ib.connect(sim.host, sim.port, clientId=next_client_id(), timeout=10)
    return ib


@pytest.fixture
def ib(request, sim):
    return client(request, sim)


def stock(ib, symbol):
    contract = Stock(symbol, "SMART", "USD")
    ib.qualifyContracts(contract)
    return contract


def settle(ib, sim, symbol=None, price=None):
    """Move the price (when given), run a round of matching and let the client take in what it sent."""
    if price is not None:
        sim.call("set_price", symbol, price)
    sim.call("match")
    ib.sleep(0.05)


def wait_status(ib, trade, status):
    wait_until(lambda: reported_status(trade) == status, what=f"{trade.order.orderType} {status}",
               pump=ib.waitOnUpdate)


def test_a_stop_rests_presubmitted_then_fills_at_market_when_the_last_price_falls_to_it(ib, sim):
    spy = stock(ib, "SPY")
    settle(ib, sim, "SPY", 600.0)
    trade = ib.placeOrder(spy, StopOrder("SELL", 10, 595.0, tif="GTC"))
    wait_status(ib, trade, "PreSubmitted")
    settle(ib, sim, "SPY", 595.5)
    assert reported_status(trade) == "PreSubmitted" and not trade.fills
    settle(ib, sim, "SPY", 594.9)
    wait_status(ib, trade, "Filled")
    assert trade.fills[0].execution.price == pytest.approx(594.89)


def test_a_stop_limit_becomes_a_limit_when_elected(ib, sim):
    gld = stock(ib, "GLD")
    settle(ib, sim, "GLD", 300.0)
    trade = ib.placeOrder(gld, StopLimitOrder("BUY", 4, 302.5, 302.0))
    wait_status(ib, trade, "PreSubmitted")
    settle(ib, sim, "GLD", 303.0)
    wait_status(ib, trade, "Submitted")
    assert not trade.fills
    settle(ib, sim, "GLD", 302.2)
    wait_status(ib, trade, "Filled")
    assert trade.fills[0].execution.price == pytest.approx(302.21)


@pytest.mark.parametrize("distance", [{"auxPrice": 2.0}, {"trailingPercent": 1.0}])
def test_a_trailing_stop_follows_the_price_up_then_sells_on_the_way_down(ib, sim, distance):
    qqq = stock(ib, "QQQ")
    settle(ib, sim, "QQQ", 500.0)
    trade = ib.placeOrder(qqq, Order(action="SELL", totalQuantity=3, orderType="TRAIL", **distance))
    wait_status(ib, trade, "PreSubmitted")
    settle(ib, sim, "QQQ", 520.0)
    settle(ib, sim, "QQQ", 518.5)
    assert not trade.fills, "the stop rose to 518 / 514.8 and stays there"
    settle(ib, sim, "QQQ", 514.0)
    wait_status(ib, trade, "Filled")
    assert trade.fills[0].execution.price == pytest.approx(513.99)


def test_a_bracket_order_fills_its_entry_then_the_target_cancels_the_stop(ib, sim):
    tlt = stock(ib, "TLT")
    settle(ib, sim, "TLT", 90.0)
    bracket = ib.bracketOrder("BUY", 20, 90.05, takeProfitPrice=92.0, stopLossPrice=88.0)
    entry, target, stop = [ib.placeOrder(tlt, order) for order in bracket]
    wait_status(ib, entry, "Submitted")
    assert reported_status(stop) == "PreSubmitted" and stop.orderStatus.whyHeld == "child"
    settle(ib, sim)
    wait_status(ib, entry, "Filled")
    settle(ib, sim)
    wait_status(ib, target, "Submitted")
    wait_status(ib, stop, "PreSubmitted")
    assert stop.orderStatus.parentId == entry.order.orderId
    settle(ib, sim, "TLT", 92.5)
    wait_status(ib, target, "Filled")
    wait_status(ib, stop, "Cancelled")
    assert [t.fills[0].execution.side for t in (entry, target)] == ["BOT", "SLD"] and not stop.fills


def test_a_bracket_stop_that_fills_first_cancels_the_target(ib, sim):
    iwm = stock(ib, "IWM")
    settle(ib, sim, "IWM", 220.0)
    entry, target, stop = [ib.placeOrder(iwm, o) for o in ib.bracketOrder("BUY", 5, 220.5, 225.0, 215.0)]
    wait_status(ib, entry, "Submitted")
    settle(ib, sim)
    settle(ib, sim)
    wait_status(ib, entry, "Filled")
    settle(ib, sim, "IWM", 214.0)
    wait_status(ib, stop, "Filled")
    wait_status(ib, target, "Cancelled")
    assert stop.fills[0].execution.price == pytest.approx(213.99)


def test_a_modified_stop_triggers_at_its_new_price(ib, sim):
    vti = stock(ib, "VTI")
    settle(ib, sim, "VTI", 300.0)
    order = StopOrder("SELL", 6, 290.0)
    trade = ib.placeOrder(vti, order)
    wait_status(ib, trade, "PreSubmitted")
    order.auxPrice, order.totalQuantity = 298.0, 8
    ib.placeOrder(vti, order)
    wait_until(lambda: trade.orderStatus.remaining == 8, what="modified quantity", pump=ib.waitOnUpdate)
    settle(ib, sim, "VTI", 297.5)
    wait_status(ib, trade, "Filled")
    assert trade.orderStatus.filled == 8


def test_closing_and_opening_auction_orders_fill_at_their_auctions(request):
    sim = start(request)
    ib = client(request, sim)
    aapl = stock(ib, "AAPL")
    moc = ib.placeOrder(aapl, Order(action="BUY", totalQuantity=10, orderType="MOC"))
    loc = ib.placeOrder(aapl, Order(action="BUY", totalQuantity=10, orderType="LOC", lmtPrice=1.0))
    wait_status(ib, moc, "Submitted")
    settle(ib, sim)
    assert not moc.fills and not loc.fills
    sim.call("step_clock", 5.5 * 3600)      # 16:00 New York: the closing auction
    wait_status(ib, moc, "Filled")
    wait_status(ib, loc, "Cancelled")
    [ticker] = ib.reqTickers(aapl)
    assert moc.fills[0].execution.price == ticker.last, "the closing price"
    moo = ib.placeOrder(aapl, MarketOrder("SELL", 10, tif="OPG"))
    loo = ib.placeOrder(aapl, LimitOrder("SELL", 10, 100_000.0, tif="OPG"))
    wait_status(ib, moo, "PreSubmitted")
    sim.call("step_clock", 17.5 * 3600)     # 09:30 the next day: the opening auction
    wait_status(ib, moo, "Filled")
    wait_status(ib, loo, "Cancelled")
    late = ib.placeOrder(aapl, MarketOrder("BUY", 1, tif="OPG"))
    wait_until(lambda: any(e.errorCode for e in late.log), what="late MOO refused", pump=ib.waitOnUpdate)
    [error] = [e for e in late.log if e.errorCode]
    assert error.errorCode == 201 and error.message.endswith("Order rejected - reason:Exchange is closed.")


def test_an_idealpro_trade_is_a_forex_position(ib, sim):
    eurusd = Forex("EURUSD")
    ib.qualifyContracts(eurusd)
    trade = ib.placeOrder(eurusd, MarketOrder("BUY", 20_000))
    wait_status(ib, trade, "Submitted")
    settle(ib, sim)
    wait_status(ib, trade, "Filled")
    wait_until(lambda: any(p.contract.conId == eurusd.conId and p.position == 20_000 for p in ib.positions()),
               what="EUR.USD position", pump=ib.waitOnUpdate)
    [position] = [p for p in ib.reqPositions() if p.contract.conId == eurusd.conId]
    assert position.contract.secType == "CASH" and position.contract.localSymbol == "EUR.USD"
