"""Broker order lifecycle: acceptance, fills, limits, cancels, held orders, partial fills, rejections, ids."""

import pytest

from simulator.engine.broker import AccountChanged, ExecutionAdded, OrderChanged, OrderRejected, OrderRequest
from simulator.engine.orders import NO_REALIZED_PNL
from tests.simulator.engine.broker_fakes import (
    ACCOUNT, EURUSD, PENNY, SPY, VIX, FakeClock, FakeMarket, Recorder, drain, lmt, make_broker, mkt)


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


def statuses(recorder, order_id=None):
    return [(e.order.status, e.order.filled) for e in recorder.of(OrderChanged)
            if order_id is None or e.order.order_id == order_id]


def test_market_order_goes_presubmitted_submitted_then_fills_at_the_ask(broker, recorder, market):
    broker.place_order(1, 1, SPY, mkt("BUY", 10, order_ref="ref-1"))
    assert statuses(recorder) == [("PreSubmitted", 0), ("Submitted", 0)]
    assert not broker.executions(), "fills only happen in match()"
    assert broker.match() is False
    [execution] = broker.executions()
    ask = market.quote(SPY.con_id).ask
    assert (execution.side, execution.shares, execution.price, execution.cum_qty) == ("BOT", 10, ask, 10)
    assert execution.avg_price == ask and execution.order_ref == "ref-1" and execution.account == ACCOUNT
    assert execution.exchange == "ARCA" and execution.realized_pnl == NO_REALIZED_PNL
    assert execution.commission == pytest.approx(0.35) and execution.commission_currency == "USD"
    [record] = broker.completed_orders()
    assert (record.status, record.filled, record.remaining, record.avg_fill_price) == ("Filled", 10, 0, ask)
    assert record.completed_status == "Filled" and record.completed_at is not None
    assert record.perm_id == execution.perm_id > 0
    kinds = [type(e) for e in recorder.events[2:]]
    assert kinds == [ExecutionAdded, OrderChanged, AccountChanged]
    assert statuses(recorder)[-1] == ("Filled", 10)


def test_sell_market_order_fills_at_the_bid(broker, market):
    broker.place_order(1, 1, SPY, mkt("SELL", 3))
    broker.match()
    [execution] = broker.executions()
    assert execution.side == "SLD" and execution.price == market.quote(SPY.con_id).bid


def test_limit_order_rests_until_the_price_crosses_and_fills_at_the_market(broker, market):
    broker.place_order(1, 1, SPY, lmt("BUY", 5, 590.0, tif="GTC"))
    assert broker.match() is True
    assert not broker.executions() and broker.open_orders(1)[0].status == "Submitted"
    market.set_price(SPY.con_id, 585.0)
    assert broker.match() is False
    [execution] = broker.executions()
    assert execution.price == pytest.approx(585.01) and execution.price <= 590.0
    assert not broker.open_orders(None)


def test_sell_limit_waits_for_the_bid_to_reach_the_limit(broker, market):
    broker.place_order(1, 1, SPY, lmt("SELL", 5, 610.0))
    broker.match()
    assert not broker.executions()
    market.set_price(SPY.con_id, 615.0)
    broker.match()
    assert broker.executions()[0].price == pytest.approx(614.99)


def test_marketable_limit_fills_at_once_at_the_better_market_price(broker, market):
    broker.place_order(1, 1, SPY, lmt("BUY", 5, 650.0))
    broker.match()
    assert broker.executions()[0].price == market.quote(SPY.con_id).ask


def test_cancel_gives_cancelled_and_unknown_or_finished_orders_get_ib_errors(broker, recorder):
    broker.place_order(1, 7, SPY, lmt("BUY", 5, 500.0))
    broker.cancel_order(1, 7)
    [record] = broker.completed_orders()
    assert record.status == "Cancelled" and record.completed_status == "Cancelled by Trader"
    assert statuses(recorder)[-1] == ("Cancelled", 0)
    assert not broker.open_orders(None)
    broker.cancel_order(1, 99)
    broker.cancel_order(1, 7)
    broker.cancel_order(2, 7)
    codes = [(e.order.client_id, e.order.order_id, e.code, e.text) for e in recorder.of(OrderRejected)]
    assert codes == [
        (1, 99, 10147, "OrderId 99 that needs to be cancelled is not found."),
        (1, 7, 10148, "OrderId 7 that needs to be cancelled cannot be cancelled, state: Cancelled."),
        (2, 7, 10147, "OrderId 7 that needs to be cancelled is not found.")]


def test_global_cancel_cancels_every_clients_working_orders(broker):
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 500.0))
    broker.place_order(2, 1, SPY, lmt("BUY", 1, 500.0))
    broker.place_order(2, 2, SPY, mkt("BUY", 1))
    broker.match()
    broker.global_cancel()
    assert not broker.open_orders(None)
    assert sorted((r.client_id, r.order_id, r.status) for r in broker.completed_orders()) == [
        (1, 1, "Cancelled"), (2, 1, "Cancelled"), (2, 2, "Filled")]


def test_good_after_time_holds_the_order_presubmitted_until_the_clock_passes_it(broker, clock, recorder):
    broker.place_order(1, 1, SPY, mkt("BUY", 10, good_after_time="20261124-16:30:00"))
    assert statuses(recorder) == [("PreSubmitted", 0)]
    assert broker.match() is True and not broker.executions()
    clock.step(1800)
    assert broker.match() is True and not broker.executions()
    clock.step(1800)
    broker.match()
    assert statuses(recorder)[-2:] == [("Submitted", 0), ("Filled", 10)]
    assert broker.executions()[0].time == clock.now()


def test_good_after_time_with_a_zone_name(broker, clock):
    # 11:00 New York is 16:00 UTC
    broker.place_order(1, 1, SPY, mkt("BUY", 1, good_after_time="20261124 11:00:00 America/New_York"))
    clock.step(1799)
    broker.match()
    assert not broker.executions()
    clock.step(1)
    broker.match()
    assert len(broker.executions()) == 1


def test_gtd_order_is_cancelled_when_its_date_passes(broker, clock):
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 500.0, tif="GTD", good_till_date="20261124 16:00:00 UTC"))
    broker.match()
    assert broker.open_orders(1)
    clock.step(3600)
    assert broker.match() is False
    [record] = broker.completed_orders()
    assert record.status == "Cancelled" and record.completed_status == "Cancelled by System"


def test_ioc_limit_that_cannot_fill_is_cancelled_on_the_first_match(broker):
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 500.0, tif="IOC"))
    assert broker.match() is False
    assert broker.completed_orders()[0].status == "Cancelled" and not broker.executions()


def test_partial_fill_mode_fills_one_piece_per_match_call(broker, recorder, market):
    broker.partial_fill_pieces = 3
    broker.place_order(1, 1, SPY, mkt("BUY", 30))
    assert broker.match() is True
    assert broker.open_orders(1)[0].status == "Submitted" and broker.open_orders(1)[0].filled == 10
    market.set_price(SPY.con_id, 610.0)
    assert broker.match() is True
    assert broker.match() is False
    executions = broker.executions()
    assert [e.shares for e in executions] == [10, 10, 10]
    assert [e.cum_qty for e in executions] == [10, 20, 30]
    assert len({e.exec_id for e in executions}) == 3
    assert all(e.commission > 0 for e in executions)
    avg = (10 * 600.01 + 20 * 610.01) / 30
    assert executions[-1].avg_price == pytest.approx(avg)
    [record] = broker.completed_orders()
    assert record.avg_fill_price == pytest.approx(avg) and record.last_fill_price == pytest.approx(610.01)
    filled_statuses = [s for s in statuses(recorder) if s[1]]
    assert filled_statuses == [("Submitted", 10), ("Submitted", 20), ("Filled", 30)]


def test_partial_pieces_of_an_uneven_quantity_add_up(broker):
    broker.partial_fill_pieces = 3
    broker.place_order(1, 1, SPY, mkt("BUY", 10))
    assert drain(broker) == 3
    assert [e.shares for e in broker.executions()] == [3, 3, 4]


def test_partial_pieces_are_fixed_when_an_order_starts_filling(broker):
    broker.partial_fill_pieces = 2
    broker.place_order(1, 1, SPY, mkt("BUY", 4))
    broker.match()
    broker.partial_fill_pieces = 1
    broker.match()
    assert [e.shares for e in broker.executions()] == [2, 2]


def test_a_working_order_with_the_same_id_is_modified(broker, recorder, market):
    broker.place_order(1, 5, SPY, lmt("BUY", 5, 500.0))
    perm_id = broker.open_orders(1)[0].perm_id
    broker.place_order(1, 5, SPY, lmt("BUY", 8, 590.0))
    [record] = broker.open_orders(1)
    assert record.perm_id == perm_id and record.request.total_quantity == 8 and record.remaining == 8
    assert record.request.lmt_price == 590.0 and statuses(recorder)[-1] == ("Submitted", 0)
    market.set_price(SPY.con_id, 589.0)
    broker.match()
    assert broker.executions()[0].shares == 8


def test_modifying_the_side_or_contract_is_refused_with_105(broker, recorder):
    broker.place_order(1, 5, SPY, lmt("BUY", 5, 500.0))
    broker.place_order(1, 5, SPY, lmt("SELL", 5, 500.0))
    assert [e.code for e in recorder.of(OrderRejected)] == [105]
    assert broker.open_orders(1)[0].request.action == "BUY"


def test_reusing_the_id_of_a_finished_order_is_a_duplicate(broker, recorder):
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    broker.match()
    broker.place_order(1, 1, SPY, mkt("BUY", 2))
    [rejection] = recorder.of(OrderRejected)
    assert (rejection.code, rejection.text) == (103, "Duplicate order id")
    assert broker.completed_orders()[0].filled == 1 and len(broker.completed_orders()) == 1


REJECTIONS = [
    ("zero quantity", SPY, mkt("BUY", 0), 201, "Order rejected - reason:The order size must be positive"),
    ("negative quantity", SPY, mkt("SELL", -5), 201, "Order rejected - reason:The order size must be positive"),
    ("unknown order type", SPY, OrderRequest("BUY", 1, "PEG MID", None), 387,
     "Unsupported order type for this exchange and security type."),
    ("limit without price", SPY, lmt("BUY", 1, None), 201, "Order rejected - reason:A limit price is required"),
    ("price off the tick", SPY, lmt("BUY", 1, 600.005), 110,
     "The price does not conform to the minimum price variation for this contract."),
    ("index", VIX, mkt("BUY", 1), 201, "Order rejected - reason:Orders for security type IND"),
    ("bad action", SPY, mkt("HOLD", 1), 201, "Order rejected - reason:Invalid action"),
    ("unknown tif", SPY, mkt("BUY", 1, tif="FOK"), 201, "Order rejected - reason:Unsupported time in force"),
    ("other account", SPY, mkt("BUY", 1, account="U999"), 201, "Order rejected - reason:Invalid account code"),
    ("bad good after time", SPY, mkt("BUY", 1, good_after_time="tomorrow"), 201,
     "Order rejected - reason:invalid time"),
    ("unknown algo", SPY, mkt("BUY", 1, algo_strategy="Vwap"), 201, "Order rejected - reason:Unsupported algo"),
]


@pytest.mark.parametrize("kind, spec, request_, code, text", REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_invalid_orders_are_rejected_with_ib_codes(broker, recorder, kind, spec, request_, code, text):
    broker.place_order(1, 1, spec, request_)
    [rejection] = recorder.of(OrderRejected)
    assert rejection.code == code and rejection.text.startswith(text), rejection.text
    assert not recorder.of(OrderChanged)
    assert broker.match() is False and not broker.executions()
    [record] = broker.completed_orders()
    assert record.status == "Cancelled" and record.completed_status == "Rejected"
    assert record.reject_reason == rejection.text and record.perm_id > 0
    assert broker.next_valid_id(1) == 2


def test_ibs_servers_refuse_an_order_beyond_buying_power_with_201_then_inactive(broker, recorder):
    broker.place_order(1, 1, SPY, mkt("BUY", 10_000))
    assert [type(event) for event in recorder.events] == [OrderRejected, OrderChanged]
    [rejection] = recorder.of(OrderRejected)
    assert rejection.code == 201 and rejection.text == (
        "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY "
        "WITH LOAN VALUE [1000000.00 USD] MUST EXCEED THE INITIAL MARGIN [1500060.00 USD]")
    [changed] = recorder.of(OrderChanged)
    assert changed.order.status == "Inactive" and changed.order.perm_id > 0
    assert broker.match() is False and not broker.executions()
    [record] = broker.completed_orders()
    assert record.completed_status == "Rejected" and record.reject_reason == rejection.text


def test_orders_within_buying_power_and_closing_orders_are_accepted(broker):
    broker.place_order(1, 1, SPY, mkt("BUY", 6000))
    broker.match()
    assert broker.executions()[0].shares == 6000
    # the account is now near its limit: more buying is refused, selling is not
    broker.place_order(1, 2, SPY, mkt("BUY", 2000))
    broker.place_order(1, 3, SPY, mkt("SELL", 6000))
    broker.match()
    assert [(r.order_id, r.status) for r in broker.completed_orders()] == [
        (1, "Filled"), (2, "Inactive"), (3, "Filled")]


def test_reject_next_rejects_exactly_one_new_order(broker, recorder):
    broker.reject_next(201, "Order rejected - reason:simulated outage")
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    broker.place_order(1, 2, SPY, mkt("BUY", 1))
    broker.match()
    assert [(e.order.order_id, e.code, e.text) for e in recorder.of(OrderRejected)] == [
        (1, 201, "Order rejected - reason:simulated outage")]
    assert [e.order_id for e in broker.executions()] == [2]


def test_reject_next_has_an_ib_like_default_text(broker, recorder):
    broker.reject_next()
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    [rejection] = recorder.of(OrderRejected)
    assert rejection.code == 201 and rejection.text.startswith("Order rejected - reason:")


def test_child_order_waits_for_its_parent_and_dies_with_it(broker):
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 500.0, transmit=False))
    broker.place_order(1, 2, SPY, lmt("SELL", 1, 700.0, parent_id=1))
    parent, child = broker.open_orders(1)
    assert parent.request.transmit and child.why_held == "child"
    broker.cancel_order(1, 1)
    assert [(r.order_id, r.status) for r in broker.completed_orders()] == [(1, "Cancelled"), (2, "Cancelled")]


def test_untransmitted_order_is_held_until_a_child_transmits_it(broker, market):
    broker.place_order(1, 1, SPY, mkt("BUY", 2, transmit=False))
    broker.match()
    assert not broker.executions() and broker.open_orders(1)[0].status == "PreSubmitted"
    broker.place_order(1, 2, SPY, lmt("SELL", 2, 650.0, parent_id=1))
    broker.match()
    assert [e.order_id for e in broker.executions()] == [1]
    market.set_price(SPY.con_id, 660.0)
    broker.match()
    assert [e.order_id for e in broker.executions()] == [1, 2]


def test_next_valid_ids_are_per_client_and_above_every_used_id(broker):
    assert broker.next_valid_id(1) == 1 and broker.next_valid_id(2) == 1
    broker.place_order(1, 10, SPY, lmt("BUY", 1, 500.0))
    broker.place_order(1, 4, SPY, lmt("BUY", 1, 500.0))
    assert broker.next_valid_id(1) == 11 and broker.next_valid_id(2) == 1
    assert broker.reserve_ids(2, 5) == 1
    assert broker.next_valid_id(2) == 6


def test_perm_ids_and_exec_ids_increase_and_repeat_across_identical_runs():
    def run():
        broker = make_broker()
        for order_id, quantity in ((1, 3), (2, 4), (3, 5)):
            broker.place_order(1, order_id, SPY, mkt("BUY", quantity))
            broker.match()
        return [(e.perm_id, e.exec_id, e.price) for e in broker.executions()]

    first, second = run(), run()
    assert first == second
    perm_ids = [p for p, _, _ in first]
    assert perm_ids == sorted(perm_ids) and len(set(perm_ids)) == 3
    assert len({x for _, x, _ in first}) == 3
    assert all(len(x.split(".")) == 4 for _, x, _ in first)


def test_open_orders_are_per_client_unless_all_are_asked_for(broker):
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 500.0))
    broker.place_order(2, 1, SPY, lmt("BUY", 2, 500.0))
    assert [r.client_id for r in broker.open_orders(1)] == [1]
    assert [r.client_id for r in broker.open_orders(None)] == [1, 2]
    assert broker.open_orders(3) == []


def test_execution_filter_semantics(broker, clock):
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    broker.match()
    clock.step(3600)
    broker.place_order(2, 1, EURUSD, mkt("SELL", 10_000, extra={"exchange": "FXCONV"}))
    broker.place_order(2, 2, PENNY, mkt("BUY", 100))
    broker.match()
    ids = lambda **f: [(e.client_id, e.symbol) for e in broker.executions(**f)]  # noqa: E731
    assert ids() == [(1, "SPY"), (2, "EUR"), (2, "PNY")]
    assert ids(client_id=2) == [(2, "EUR"), (2, "PNY")]
    assert ids(account=ACCOUNT) == ids() and ids(account="DU000") == []
    assert ids(symbol="spy") == [(1, "SPY")]
    assert ids(sec_type="CASH") == [(2, "EUR")]
    assert ids(exchange="FXCONV") == [(2, "EUR")] and ids(exchange="ARCA") == [(1, "SPY")]
    assert ids(side="SELL") == [(2, "EUR")] and ids(side="BOT") == [(1, "SPY"), (2, "PNY")]
    # 16:00 UTC is 11:00 in New York (TWS's zone when a filter time has none)
    assert ids(time="20261124 11:00:00") == [(2, "EUR"), (2, "PNY")]
    assert ids(time="20261124-16:00:00") == ids(time="20261124 16:00:00 UTC") == [(2, "EUR"), (2, "PNY")]
    assert ids(time="20261124 10:00:00 US/Eastern") == ids()
    with pytest.raises(ValueError):
        broker.executions(time="yesterday")


def test_listeners_hear_events_in_emission_order(market, clock):
    heard = []
    broker = make_broker(market=market, clock=clock)
    broker.listeners.append(lambda event: heard.append(type(event).__name__))
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    broker.match()
    assert heard == ["OrderChanged", "OrderChanged", "ExecutionAdded", "OrderChanged", "AccountChanged"]
