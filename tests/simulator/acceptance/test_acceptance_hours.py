"""Acceptance: trading hours, early closes, the day boundary and account update cadence, as the client library sees
them."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.iblib import ExecutionFilter, LimitOrder, MarketOrder, Stock, reported_status
from simulator.engine import trading_hours
from tests.support.simulator_process import LISTENING, SimulatorProcess, wait_until

UTC = timezone.utc
SATURDAY_0300_NY = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
# the day after Thanksgiving: NYSE closes at 13:00 New York
BLACK_FRIDAY_NOON_NY = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
BLACK_FRIDAY_CLOSE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def qualified(ib, symbol: str) -> Stock:
    stock = Stock(symbol, "SMART", "USD")
    assert ib.qualifyContracts(stock) == [stock]
    return stock


def error_log(ib) -> list[tuple[int, int, str]]:
    seen = []
    ib.errorEvent += lambda req_id, code, text, contract: seen.append((req_id, code, text))
    return seen


def step(simulator, until: datetime) -> None:
    now = datetime.fromisoformat(simulator.state()["clock"]["now"])
    simulator.admin("POST", "/clock/step", {"seconds": (until - now).total_seconds()})


def test_a_market_order_placed_on_a_saturday_is_held_and_fills_at_the_open(start_simulator, connect):
    simulator = start_simulator(seed=71, now=SATURDAY_0300_NY)
    ib = connect(simulator)
    errors = error_log(ib)
    spy = qualified(ib, "SPY")
    trade = ib.placeOrder(spy, MarketOrder("BUY", 10))
    wait_until(lambda: errors, what="IB's 399", pump=ib.waitOnUpdate)
    assert errors == [(trade.order.orderId, 399, "Order Message:\nBUY 10 SPY ARCA\nWarning: Your order will not be "
                                                 "placed at the exchange until 2026-11-30 09:30:00 US/Eastern.")]
    assert reported_status(trade) == "PreSubmitted" and trade.orderStatus.permId > 0
    step(simulator, MONDAY_OPEN - timedelta(minutes=1))
    [held] = simulator.state()["open_orders"]
    assert held["status"] == "PreSubmitted" and held["filled"] == 0 and not trade.fills
    step(simulator, MONDAY_OPEN)
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill at the open", pump=ib.waitOnUpdate)
    [fill] = trade.fills
    assert fill.execution.time == MONDAY_OPEN and fill.execution.shares == 10
    assert "Submitted" in [entry.status for entry in trade.log]


@pytest.mark.parametrize("execution_days, reported_next_day", [(1, False), (2, True)])
def test_the_close_expires_a_day_limit_and_the_next_day_reports_no_executions(
        start_simulator, connect, sim_now, execution_days, reported_next_day):
    simulator = start_simulator(seed=72, execution_days=execution_days)
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    bought = ib.placeOrder(spy, MarketOrder("BUY", 5))
    wait_until(lambda: bought.orderStatus.status == "Filled", what="the fill", pump=ib.waitOnUpdate)
    [ticker] = ib.reqTickers(spy)
    resting = ib.placeOrder(spy, LimitOrder("BUY", 5, round(ticker.bid * 0.8, 2), tif="DAY"))
    wait_until(lambda: resting.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    close = sim_now.replace(hour=21, minute=0)                          # 16:00 New York
    step(simulator, close - timedelta(seconds=1))
    assert resting.orderStatus.status == "Submitted"
    step(simulator, close)
    wait_until(lambda: resting.orderStatus.status == "Cancelled", what="DAY expiry", pump=ib.waitOnUpdate)
    assert not resting.fills
    exec_id = bought.fills[0].execution.execId
    assert exec_id in {f.execution.execId for f in ib.reqExecutions(ExecutionFilter())}
    step(simulator, close + timedelta(hours=18))                        # Wednesday 10:00 New York
    later = connect(simulator)
    reported = {f.execution.execId for f in later.reqExecutions(ExecutionFilter())}
    completed = {t.order.permId for t in later.reqCompletedOrders(apiOnly=False)}
    assert (exec_id in reported) is reported_next_day
    assert (bought.order.permId in completed) is reported_next_day
    state = simulator.state()
    assert exec_id in {e["exec_id"] for e in state["executions"]}
    assert {o["perm_id"] for o in state["completed_orders"]} >= {bought.order.permId, resting.order.permId}


def test_completed_orders_with_api_only_leave_out_orders_entered_in_tws(start_simulator, connect):
    simulator = start_simulator(seed=73)
    ib = connect(simulator)
    manual = simulator.admin("POST", "/orders/manual", {"symbol": "TLT", "action": "BUY", "quantity": 3})
    assert manual["order_id"] < 0
    tlt = qualified(ib, "TLT")
    mine = ib.placeOrder(tlt, MarketOrder("BUY", 2))
    wait_until(lambda: mine.orderStatus.status == "Filled", what="the API order", pump=ib.waitOnUpdate)
    wait_until(lambda: not simulator.state()["open_orders"], what="the manual order")
    api_only = {t.order.permId for t in ib.reqCompletedOrders(apiOnly=True)}
    every = {t.order.permId for t in ib.reqCompletedOrders(apiOnly=False)}
    assert api_only == {mine.order.permId} and every == {mine.order.permId, manual["perm_id"]}


def test_a_person_cancels_an_api_order_from_tws(start_simulator, connect):
    simulator = start_simulator(seed=74)
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    [ticker] = ib.reqTickers(spy)
    trade = ib.placeOrder(spy, LimitOrder("SELL", 1, round(ticker.ask * 1.5, 2), tif="GTC"))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    assert simulator.admin("POST", "/orders/cancel", {"perm_id": trade.order.permId})["status"] == "Cancelled"
    wait_until(lambda: trade.orderStatus.status == "Cancelled", what="Cancelled", pump=ib.waitOnUpdate)
    status, body = simulator.admin_request("POST", "/orders/cancel", {"perm_id": trade.order.permId})
    assert status == 400 and "no working order" in body["error"]


def test_account_values_wait_for_the_interval_while_the_summary_is_current(start_simulator, connect):
    simulator = start_simulator(seed=75)                                # IB's interval: 180 s
    ib = connect(simulator)
    spy = qualified(ib, "SPY")
    trade = ib.placeOrder(spy, MarketOrder("BUY", 100))
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill", pump=ib.waitOnUpdate)

    def net_liquidation() -> float:
        return next(float(v.value) for v in ib.accountValues() if v.tag == "NetLiquidation" and v.currency == "USD")

    # a position change makes IB push account values at once
    wait_until(lambda: any(i.contract.conId == spy.conId for i in ib.portfolio()), what="the new position",
               pump=ib.waitOnUpdate)
    pushed = net_liquidation()
    simulator.admin("POST", "/price/move", {"symbol": "SPY", "pct": 5})
    summary = {v.tag: float(v.value) for v in ib.accountSummary() if v.currency == "USD"}
    assert summary["NetLiquidation"] > pushed + 100 * 25
    # the watch loop runs every 0.25 s: a push per price move would have come within this wait
    ib.sleep(0.6)
    assert net_liquidation() == pushed


def test_start_in_session_shows_a_trading_market_at_any_hour(tmp_path, request, connect):
    simulator = SimulatorProcess(start_in_session=True, log_path=tmp_path / "simulator.log")
    request.addfinalizer(simulator.stop)
    simulator.start()
    line = next(line for line in simulator.log().splitlines() if LISTENING.search(line))
    assert " clock=" in line and ("(real time)" in line or "(running from the last session" in line)
    ib = connect(simulator)
    assert trading_hours.is_open(trading_hours.STK_RTH, ib.reqCurrentTime())
    trade = ib.placeOrder(qualified(ib, "SPY"), MarketOrder("BUY", 1))
    wait_until(lambda: trade.orderStatus.status == "Filled", what="a fill", pump=ib.waitOnUpdate)


def test_an_early_close_expires_day_orders_at_13_00_and_holds_later_orders_for_the_next_open(
        start_simulator, connect):
    simulator = start_simulator(seed=74, now=BLACK_FRIDAY_NOON_NY)
    ib = connect(simulator)
    errors = error_log(ib)
    spy = qualified(ib, "SPY")
    [details] = ib.reqContractDetails(spy)
    assert "20261127:0930-20261127:1300" in details.liquidHours
    [ticker] = ib.reqTickers(spy)
    resting = ib.placeOrder(spy, LimitOrder("BUY", 5, round(ticker.bid * 0.8, 2), tif="DAY"))
    wait_until(lambda: reported_status(resting) == "Submitted", what="Submitted", pump=ib.waitOnUpdate)

    step(simulator, BLACK_FRIDAY_CLOSE - timedelta(seconds=1))
    assert reported_status(resting) == "Submitted"
    step(simulator, BLACK_FRIDAY_CLOSE)
    wait_until(lambda: reported_status(resting) == "Cancelled", what="DAY expiry at 13:00", pump=ib.waitOnUpdate)

    late = ib.placeOrder(spy, MarketOrder("BUY", 5))
    wait_until(lambda: any(code == 399 for _, code, _ in errors), what="IB's 399", pump=ib.waitOnUpdate)
    assert "will not be placed at the exchange until 2026-11-30 09:30:00" in [t for _, c, t in errors if c == 399][0]
    assert reported_status(late) == "PreSubmitted" and not late.fills
