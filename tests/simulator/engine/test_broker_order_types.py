"""Broker: stop, stop-limit and trailing stops, bracket orders, OCA groups, closing and opening auction orders."""

from datetime import timedelta

import pytest

from simulator.engine.broker import OrderChanged, OrderRejected, OrderRequest
from tests.simulator.engine.broker_fakes import EURUSD, MNQ, SPY, FakeClock, FakeMarket, Recorder, lmt, make_broker, mkt


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def market():
    return FakeMarket()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def broker(market, clock, recorder):
    return make_broker(market=market, clock=clock, recorder=recorder)


def stp(action, quantity, stop, **fields):
    return OrderRequest(action, quantity, "STP", None, aux_price=stop, **fields)


def statuses(recorder, order_id):
    return [(e.order.status, e.order.why_held) for e in recorder.of(OrderChanged) if e.order.order_id == order_id]


def test_a_stock_stop_rests_presubmitted_until_the_last_price_reaches_it_then_fills_at_market(
        broker, recorder, market):
    broker.place_order(1, 1, SPY, stp("SELL", 10, 590.0))
    broker.match()
    market.set_price(SPY.con_id, 590.01)
    broker.match()
    assert statuses(recorder, 1) == [("PreSubmitted", "")] and not broker.executions()
    market.set_price(SPY.con_id, 589.5)
    broker.match()
    [execution] = broker.executions()
    assert execution.price == market.quote(SPY.con_id).bid and execution.side == "SLD"
    assert statuses(recorder, 1) == [("PreSubmitted", ""), ("Submitted", ""), ("Filled", "")]


def test_a_futures_stop_is_native_submitted_at_once(broker, recorder, market):
    broker.place_order(1, 1, MNQ, stp("BUY", 1, 21_100.0))
    broker.match()
    assert statuses(recorder, 1)[-1] == ("Submitted", "") and not broker.executions()
    market.set_price(MNQ.con_id, 21_100.0)
    broker.match()
    assert broker.executions()[0].price == market.quote(MNQ.con_id).ask


def test_an_elected_stop_limit_fills_only_within_its_limit(broker, market):
    broker.place_order(1, 1, SPY, OrderRequest("BUY", 5, "STP LMT", 605.0, aux_price=604.0))
    market.set_price(SPY.con_id, 606.0)
    broker.match()
    record = broker.order(1, 1)
    assert record.triggered and record.status == "Submitted" and not broker.executions()
    market.set_price(SPY.con_id, 604.5)
    broker.match()
    assert broker.executions()[0].price == pytest.approx(604.51)


def test_a_stop_already_crossed_when_placed_fills_at_once(broker, market):
    broker.place_order(1, 1, SPY, stp("BUY", 3, 590.0))
    broker.match()
    assert broker.executions()[0].price == market.quote(SPY.con_id).ask


@pytest.mark.parametrize("terms, first_stop, raised_stop", [
    ({"aux_price": 2.0}, 598.0, 608.0),
    ({"trailing_percent": 1.0}, 594.0, 603.9),
])
def test_a_trailing_stop_ratchets_up_with_the_price_and_never_back(broker, market, terms, first_stop, raised_stop):
    broker.place_order(1, 1, SPY, OrderRequest("SELL", 10, "TRAIL", None, **terms))
    record = broker.order(1, 1)
    assert record.request.trail_stop_price == pytest.approx(first_stop)
    market.set_price(SPY.con_id, 610.0)
    broker.match()
    assert record.request.trail_stop_price == pytest.approx(raised_stop)
    market.set_price(SPY.con_id, raised_stop + 0.5)
    broker.match()
    assert record.request.trail_stop_price == pytest.approx(raised_stop) and not broker.executions()
    market.set_price(SPY.con_id, raised_stop - 0.1)
    broker.match()
    assert broker.executions()[0].side == "SLD" and record.status == "Filled"


def test_forex_stops_watch_the_bid_and_ask():
    market = FakeMarket()
    broker = make_broker(market=market)
    broker.place_order(1, 1, EURUSD, OrderRequest("BUY", 20_000, "STP", None, aux_price=1.09))
    market.usd_values["EUR"] = 1.0899995   # the ask reaches the stop while the midpoint is below it
    broker.match()
    assert broker.order(1, 1).status == "Filled"


def test_a_bracket_fills_its_parent_then_the_first_child_to_fill_cancels_the_other(broker, recorder, market):
    broker.place_order(1, 1, SPY, lmt("BUY", 10, 601.0, transmit=False))
    broker.place_order(1, 2, SPY, lmt("SELL", 10, 610.0, parent_id=1, transmit=False))
    assert not broker.executions() and broker.order(1, 1).status == "PreSubmitted"
    broker.place_order(1, 3, SPY, stp("SELL", 10, 590.0, parent_id=1))
    broker.match()
    assert broker.order(1, 1).status == "Filled"
    broker.match()
    assert (broker.order(1, 2).status, broker.order(1, 3).status) == ("Submitted", "PreSubmitted")
    market.set_price(SPY.con_id, 610.5)
    broker.match()
    assert broker.order(1, 2).status == "Filled"
    stop = broker.order(1, 3)
    assert (stop.status, stop.completed_status) == ("Cancelled", "Cancelled by System")
    assert [e.order_id for e in broker.executions()] == [1, 2]
    assert not recorder.of(OrderRejected)


def test_a_partial_fill_in_a_bracket_reduces_the_other_child(broker, market):
    broker.partial_fill_pieces = 2
    broker.place_order(1, 1, SPY, mkt("BUY", 10, transmit=False))
    broker.place_order(1, 2, SPY, lmt("SELL", 10, 590.0, parent_id=1, transmit=False))
    broker.place_order(1, 3, SPY, stp("SELL", 10, 580.0, parent_id=1))
    broker.match()
    broker.match()
    assert broker.order(1, 1).status == "Filled"
    stop = broker.order(1, 3)
    assert (broker.order(1, 2).filled, stop.request.total_quantity, stop.remaining) == (5, 5, 5)
    broker.match()
    assert broker.order(1, 2).status == "Filled" and stop.status == "Cancelled"


def test_oca_type_1_cancels_the_others_on_a_fill(broker, market):
    broker.place_order(1, 1, SPY, lmt("BUY", 10, 599.0, oca_group="g", oca_type=1))
    broker.place_order(1, 2, SPY, lmt("BUY", 10, 595.0, oca_group="g", oca_type=1))
    broker.place_order(1, 3, SPY, lmt("BUY", 10, 595.0, oca_group="other", oca_type=1))
    market.set_price(SPY.con_id, 598.0)
    broker.match()
    assert [broker.order(1, i).status for i in (1, 2, 3)] == ["Filled", "Cancelled", "Submitted"]


def test_oca_type_3_reduces_the_others_by_what_filled(broker, market):
    broker.partial_fill_pieces = 2
    broker.place_order(1, 1, SPY, lmt("BUY", 10, 599.0, oca_group="g", oca_type=3))
    broker.place_order(1, 2, SPY, lmt("BUY", 10, 595.0, oca_group="g", oca_type=3))
    market.set_price(SPY.con_id, 598.0)
    broker.match()
    other = broker.order(1, 2)
    assert (other.status, other.request.total_quantity) == ("Submitted", 5)
    broker.match()
    assert other.status == "Cancelled"


def test_modifying_a_stop_moves_its_trigger_and_changing_its_type_is_refused(broker, recorder, market):
    broker.place_order(1, 1, SPY, stp("SELL", 10, 580.0))
    broker.place_order(1, 1, SPY, stp("SELL", 12, 595.0))
    record = broker.order(1, 1)
    assert (record.request.aux_price, record.remaining) == (595.0, 12)
    broker.place_order(1, 1, SPY, lmt("SELL", 12, 595.0))
    assert [e.code for e in recorder.of(OrderRejected)] == [105]
    market.set_price(SPY.con_id, 594.0)
    broker.match()
    assert record.status == "Filled" and record.filled == 12


def test_a_market_on_close_order_fills_at_the_close_price(broker, clock, market):
    broker.place_order(1, 1, SPY, OrderRequest("BUY", 10, "MOC", None))
    broker.match()
    assert broker.order(1, 1).status == "Submitted" and not broker.executions()
    clock.step(5.5 * 3600)                  # 10:30 -> 16:00 New York
    market.set_price(SPY.con_id, 601.25)
    broker.match()
    [execution] = broker.executions()
    assert execution.price == 601.25 and broker.order(1, 1).status == "Filled"


def test_a_limit_on_close_order_outside_its_limit_is_cancelled_at_the_close(broker, clock, market):
    broker.place_order(1, 1, SPY, OrderRequest("BUY", 10, "LOC", 590.0))
    clock.step(5.5 * 3600)
    broker.match()
    record = broker.order(1, 1)
    assert (record.status, record.completed_status, record.filled) == ("Cancelled", "Cancelled by System", 0)


def test_auction_orders_after_their_cutoff_get_exchange_closed(broker, recorder, clock):
    clock.step(5.5 * 3600 - 5 * 60)         # 15:55
    broker.place_order(1, 1, SPY, OrderRequest("BUY", 10, "MOC", None))
    broker.place_order(1, 2, SPY, mkt("BUY", 10, tif="OPG"))
    rejections = recorder.of(OrderRejected)
    assert [(r.code, r.text) for r in rejections] == [(201, "Order rejected - reason:Exchange is closed.")] * 2
    assert broker.order(1, 1).status == "Inactive"


@pytest.mark.parametrize("request_, code", [
    (OrderRequest("BUY", 10, "MOC", None, tif="GTC"), 113),
    (OrderRequest("BUY", 10, "STP", None, tif="OPG", aux_price=500.0), 111),
    (OrderRequest("BUY", 1, "MOC", None), 387),
])
def test_auction_orders_with_the_wrong_terms_are_refused(broker, recorder, request_, code):
    spec = MNQ if code == 387 else SPY
    broker.place_order(1, 1, spec, request_)
    assert [r.code for r in recorder.of(OrderRejected)] == [code]


def test_a_market_on_open_order_fills_at_the_next_open(broker, clock, market, recorder):
    clock.step(6 * 3600)                    # 16:30: after the close
    broker.place_order(1, 1, SPY, mkt("BUY", 10, tif="OPG"))
    assert not recorder.of(OrderRejected)
    record = broker.order(1, 1)
    assert record.auction_at == FakeClock().now() + timedelta(hours=23)    # 09:30 the next day
    clock.step(17 * 3600)
    market.set_price(SPY.con_id, 603.0)
    broker.match()
    assert broker.executions()[0].price == 603.0 and record.status == "Filled"
