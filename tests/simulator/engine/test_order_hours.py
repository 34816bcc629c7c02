"""Trading hours of orders: where an order may work, IB's 399 and 2109 notices, DAY expiry, the trade log window."""

from datetime import datetime, timedelta, timezone

import pytest

from simulator.engine import order_hours, trading_hours
from simulator.engine.trade_log import window_start
from tests.simulator.engine.broker_fakes import EURUSD, MNQ, QQQ, SPY, lmt, mkt

UTC = timezone.utc
TUESDAY_1030_NY = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
TUESDAY_1700_NY = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
SATURDAY_0300_NY = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize("spec, request_, kind", [
    (SPY, mkt("BUY", 1), trading_hours.STK_RTH),
    (SPY, mkt("BUY", 1, outside_rth=True), trading_hours.STK_RTH),
    (SPY, lmt("BUY", 1, 500.0, outside_rth=True), trading_hours.STK_ETH),
    (MNQ, lmt("BUY", 1, 20000.0, outside_rth=True), trading_hours.FUT),
    (EURUSD, mkt("BUY", 20000), trading_hours.CASH),
])
def test_an_order_works_in_its_contracts_session_and_outside_rth_extends_only_stock_limits(spec, request_, kind):
    assert order_hours.session_kind(spec, request_) == kind
    assert order_hours.outside_rth_ignored(spec, request_) == (request_.outside_rth and kind != trading_hours.STK_ETH)


def test_a_stock_order_after_the_close_is_queued_for_the_next_open_with_ibs_399_text():
    assert not order_hours.in_session(QQQ, mkt("BUY", 3), SATURDAY_0300_NY)
    code, text = order_hours.queued_warning(QQQ, mkt("BUY", 3), SATURDAY_0300_NY)
    assert code == 399
    assert text == ("Order Message:\nBUY 3 QQQ NASDAQ.NMS\nWarning: Your order will not be placed at the exchange "
                    "until 2026-11-30 09:30:00 US/Eastern.")


def test_a_futures_order_in_the_daily_break_is_queued_for_the_evening_open_in_chicago_time():
    code, text = order_hours.queued_warning(MNQ, mkt("SELL", 1), TUESDAY_1700_NY + timedelta(minutes=10))
    assert text.endswith("SELL 1 MNQ DEC'26\nWarning: Your order will not be placed at the exchange until "
                         "2026-11-24 17:00:00 US/Central.")


@pytest.mark.parametrize("spec, request_, placed, ends", [
    (SPY, lmt("BUY", 1, 500.0), TUESDAY_1030_NY, datetime(2026, 11, 24, 21, 0, tzinfo=UTC)),
    (SPY, lmt("BUY", 1, 500.0, outside_rth=True), TUESDAY_1030_NY, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)),
    (SPY, mkt("BUY", 1), SATURDAY_0300_NY, datetime(2026, 11, 30, 21, 0, tzinfo=UTC)),
    (MNQ, mkt("BUY", 1), TUESDAY_1030_NY, TUESDAY_1700_NY),
    (SPY, mkt("BUY", 1, good_after_time="20261125-15:00:00"), TUESDAY_1030_NY,
     datetime(2026, 11, 25, 21, 0, tzinfo=UTC)),
])
def test_a_day_order_ends_at_the_close_of_the_session_it_works_in(spec, request_, placed, ends):
    assert order_hours.day_order_end(spec, request_, placed) == ends


def test_orders_of_other_tifs_do_not_end_at_the_close():
    assert order_hours.day_order_end(SPY, mkt("BUY", 1, tif="GTC"), TUESDAY_1030_NY) is None


def test_sessions_at_or_after_a_moment():
    assert trading_hours.is_open(trading_hours.STK_RTH, TUESDAY_1030_NY)
    assert trading_hours.session_at_or_after(trading_hours.STK_RTH, SATURDAY_0300_NY).start == MONDAY_OPEN
    assert not trading_hours.is_open(trading_hours.CASH, SATURDAY_0300_NY)


def test_a_clock_started_inside_the_last_session():
    into = timedelta(minutes=30)
    assert trading_hours.inside_last_session(trading_hours.STK_RTH, TUESDAY_1030_NY, into) == TUESDAY_1030_NY
    friday_1000_ny = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert trading_hours.inside_last_session(trading_hours.STK_RTH, SATURDAY_0300_NY, into) == friday_1000_ny


@pytest.mark.parametrize("now, days, start", [
    (TUESDAY_1030_NY, 1, datetime(2026, 11, 24, 5, 0, tzinfo=UTC)),
    (datetime(2026, 11, 25, 4, 59, tzinfo=UTC), 1, datetime(2026, 11, 24, 5, 0, tzinfo=UTC)),
    (datetime(2026, 11, 25, 5, 0, tzinfo=UTC), 1, datetime(2026, 11, 25, 5, 0, tzinfo=UTC)),
    (TUESDAY_1030_NY, 3, datetime(2026, 11, 22, 5, 0, tzinfo=UTC)),
])
def test_the_trade_log_starts_at_midnight_new_york(now, days, start):
    assert window_start(now, days) == start
