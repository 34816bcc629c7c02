"""The broker and trading hours: orders queued for the open, DAY expiry at the close, what the trade log reports,
orders entered in TWS, and the order faults."""

from datetime import datetime, timedelta, timezone

import pytest

from simulator.engine.broker import OrderChanged, OrderRejected, OrderWarned
from simulator.engine.trade_log import window_start
from tests.simulator.engine.broker_fakes import MNQ, SPY, FakeClock, FakeMarket, Recorder, lmt, make_broker, mkt

UTC = timezone.utc
SATURDAY_0300_NY = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def broker(clock, recorder):
    return make_broker(market=FakeMarket(), clock=clock, recorder=recorder)


def warnings(recorder) -> list[int]:
    return [e.code for e in recorder.of(OrderWarned)]


def test_a_market_order_on_a_saturday_waits_presubmitted_and_fills_at_the_open(recorder):
    clock = FakeClock(SATURDAY_0300_NY)
    broker = make_broker(clock=clock, recorder=recorder)
    broker.place_order(1, 1, SPY, mkt("BUY", 10))
    assert warnings(recorder) == [399]
    assert broker.match() is True and not broker.executions()
    [held] = broker.open_orders(1)
    assert held.status == "PreSubmitted" and held.day_ends_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    clock.step((MONDAY_OPEN - SATURDAY_0300_NY).total_seconds() - 1)
    broker.match()
    assert not broker.executions()
    clock.step(1)
    broker.match()
    [fill] = broker.executions()
    assert fill.time == MONDAY_OPEN and fill.shares == 10
    assert [e.order.status for e in recorder.of(OrderChanged)][-2:] == ["Submitted", "Filled"]


def test_outside_rth_on_a_market_order_is_ignored_with_2109(broker, recorder):
    broker.place_order(1, 1, SPY, mkt("BUY", 1, outside_rth=True))
    assert warnings(recorder) == [2109]
    broker.match()
    assert broker.executions()


def test_outside_rth_lets_a_stock_limit_order_fill_in_extended_hours(recorder):
    clock = FakeClock(datetime(2026, 11, 24, 23, 0, tzinfo=UTC))     # 18:00 New York
    broker = make_broker(clock=clock, recorder=recorder)
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 700.0, outside_rth=True))
    broker.place_order(1, 2, SPY, lmt("BUY", 1, 700.0))
    broker.match()
    assert [e.order_id for e in broker.executions()] == [1]
    assert warnings(recorder) == [399]


def test_a_day_limit_expires_at_the_close_and_a_gtc_one_does_not(broker, clock, recorder):
    broker.place_order(1, 1, SPY, lmt("BUY", 1, 500.0))
    broker.place_order(1, 2, SPY, lmt("BUY", 1, 500.0, tif="GTC"))
    broker.place_order(1, 3, MNQ, lmt("BUY", 1, 20000.0))
    clock.step(5.5 * 3600 - 1)                                          # 15:59:59 New York
    broker.match()
    assert [r.order_id for r in broker.open_orders(1)] == [1, 2, 3]
    clock.step(1)
    broker.match()
    assert [r.order_id for r in broker.open_orders(1)] == [2, 3]
    [expired] = broker.completed_orders()
    assert expired.status == "Cancelled" and expired.completed_at == clock.now()
    clock.step(3600)                                                    # 17:00: the futures session closes
    broker.match()
    assert [r.order_id for r in broker.open_orders(1)] == [2]


def test_the_trade_log_reports_today_while_the_broker_keeps_everything(broker, clock):
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    broker.match()
    clock.step(24 * 3600)
    broker.place_order(1, 2, SPY, mkt("BUY", 2))
    broker.match()
    today = window_start(clock.now(), 1)
    assert [e.order_id for e in broker.executions(reported_since=today)] == [2]
    assert [r.order_id for r in broker.completed_orders(since=today)] == [2]
    assert [e.order_id for e in broker.executions(reported_since=window_start(clock.now(), 2))] == [1, 2]
    assert [e.order_id for e in broker.executions()] == [1, 2]


def test_an_order_entered_in_tws_is_not_an_api_order(broker):
    record = broker.place_manual_order(SPY, mkt("BUY", 4))
    broker.match()
    broker.place_order(1, 1, SPY, mkt("SELL", 1))
    broker.match()
    assert (record.client_id, record.order_id, record.api) == (0, -1, False)
    assert [r.order_id for r in broker.completed_orders(api_only=True)] == [1]
    assert [r.order_id for r in broker.completed_orders()] == [-1, 1]
    assert broker.place_manual_order(SPY, mkt("BUY", 1)).order_id == -2


def test_a_person_cancels_any_working_order_from_tws(broker):
    broker.place_order(7, 1, SPY, lmt("BUY", 1, 500.0, tif="GTC"))
    [record] = broker.open_orders(7)
    assert broker.cancel_by_perm_id(record.perm_id).status == "Cancelled"
    with pytest.raises(KeyError):
        broker.cancel_by_perm_id(record.perm_id)


def test_order_warning_fault_warns_after_presubmitted_and_the_order_fills(broker, recorder):
    broker.faults.arm("order-warning")
    broker.place_order(1, 1, SPY, mkt("BUY", 1))
    kinds = [(type(e).__name__, getattr(e, "code", e.order.status)) for e in recorder.events
             if isinstance(e, (OrderChanged, OrderWarned))]
    assert kinds == [("OrderChanged", "PreSubmitted"), ("OrderWarned", 10349), ("OrderChanged", "Submitted")]
    broker.match()
    assert broker.executions()


def test_order_reject_fault_waits_for_the_submission(broker, clock, recorder):
    broker.faults.arm("order-reject")
    broker.place_order(1, 1, SPY, mkt("BUY", 1, good_after_time="20261124-16:00:00"))
    assert not recorder.of(OrderRejected)
    clock.step(timedelta(minutes=30).total_seconds())
    broker.match()
    [rejection] = recorder.of(OrderRejected)
    assert rejection.code == 201 and rejection.order.status == "Inactive"
    assert [e.order.status for e in recorder.of(OrderChanged)][-2:] == ["Submitted", "Inactive"]
    assert not broker.executions() and not broker.open_orders(1)


def test_a_correction_books_the_corrected_execution_instead_of_the_original(broker, recorder):
    broker.faults.monotonic = lambda: 0.0
    broker.faults.arm("execution-correction", delay_s=1, quantity=8, price=601.0)
    broker.place_order(1, 1, SPY, mkt("BUY", 10))
    broker.match()
    [original] = broker.executions()
    cash_after_fill = broker.cash()["USD"]
    broker.match()
    assert len(broker.executions()) == 1
    broker.faults.monotonic = lambda: 1.0
    broker.match()
    original_, correction = broker.executions()
    assert original_.superseded_by == correction.exec_id and correction.corrects == original.exec_id
    assert correction.exec_id == original.exec_id[:-3] + ".02" and (correction.shares, correction.price) == (8, 601.0)
    assert [e.exec_id for e in broker.executions(current_only=True)] == [correction.exec_id]
    [position] = broker.positions()
    assert position.quantity == 8
    refunded = original.commission - correction.commission
    assert broker.cash()["USD"] == pytest.approx(cash_after_fill + original.shares * original.price
                                                  - 8 * 601.0 + refunded)
    [record] = broker.completed_orders()
    assert (record.filled, record.avg_fill_price) == (8, 601.0)


def test_a_cancel_race_fills_part_of_the_order_before_it_is_cancelled(broker, recorder):
    broker.place_order(1, 1, SPY, lmt("BUY", 9, 500.0, tif="GTC"))
    broker.faults.arm("cancel-race", fill_fraction=0.5)
    broker.cancel_order(1, 1)
    [record] = broker.open_orders(1)
    assert record.status == "PendingCancel" and not broker.executions()
    broker.match()
    [fill] = broker.executions()
    assert (fill.shares, fill.price) == (4, 500.0)
    assert record.status == "Cancelled" and record.filled == 4
    assert [e.code for e in recorder.of(OrderWarned)] == [202]


def test_inactive_then_active_waits_for_its_time(broker, recorder):
    now_s = [0.0]
    broker.faults.monotonic = lambda: now_s[0]
    broker.faults.arm("inactive-then-active", inactive_s=2)
    broker.place_order(1, 1, SPY, mkt("SELL", 3))
    [record] = broker.open_orders(1)
    assert (record.status, record.why_held) == ("Inactive", "locate") and warnings(recorder) == [404]
    broker.match()
    assert not broker.executions()
    now_s[0] = 2.0
    broker.match()
    assert broker.executions() and record.status == "Filled"
