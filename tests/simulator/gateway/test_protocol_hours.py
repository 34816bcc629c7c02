"""Trading hours, the day boundary and account update cadence as IB's official ibapi client sees them."""

import itertools
import time
from datetime import datetime, timezone

from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.ibapi_client import RecordingApp

UTC = timezone.utc
SATURDAY_0300_NY = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
CLIENT_IDS = itertools.count(61)


class TimedApp(RecordingApp):
    """Also notes when each NetLiquidation update arrived (monotonic seconds)."""

    def __init__(self):
        super().__init__()
        self.net_liquidation_at: list[float] = []

    def updateAccountValue(self, key, val, currency, accountName):
        if key == "NetLiquidation" and currency == "USD":
            self.net_liquidation_at.append(time.monotonic())
        super().updateAccountValue(key, val, currency, accountName)


def spy() -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = "SPY", "STK", "SMART", "USD"
    return contract


def order(action: str, quantity: float, order_type: str = "MKT", limit: float = 0.0, tif: str = "DAY") -> Order:
    made = Order()
    made.action, made.totalQuantity, made.orderType, made.tif = action, quantity, order_type, tif
    if order_type == "LMT":
        made.lmtPrice = limit
    return made


def statuses(app: RecordingApp, order_id: int) -> list[str]:
    seen = []
    for event in app.of("orderStatus"):
        if event[1] == order_id and (not seen or seen[-1] != event[2]):
            seen.append(event[2])
    return seen


def test_an_order_outside_hours_gets_399_waits_presubmitted_and_fills_at_the_open():
    with SimulatorThread(SimulatorConfig(port=0, now=SATURDAY_0300_NY, fill_delay_ms=1)) as sim:
        app = TimedApp().start(sim.host, sim.port, next(CLIENT_IDS))
        try:
            order_id = app.of("nextValidId")[-1][1]
            app.placeOrder(order_id, spy(), order("BUY", 4))
            app.wait_for(lambda e: e[0] == "error" and e[1] == order_id)
            assert app.errors(order_id) == [(399, "Order Message:\nBUY 4 SPY ARCA\nWarning: Your order will not be "
                                                  "placed at the exchange until 2026-11-30 09:30:00 US/Eastern.")]
            assert statuses(app, order_id) == ["PreSubmitted"]
            sim.call("step_clock", (MONDAY_OPEN - SATURDAY_0300_NY).total_seconds())
            app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled")
            assert statuses(app, order_id) == ["PreSubmitted", "Submitted", "Filled"]
            [(_, _, _, execution)] = [e for e in app.of("execDetails") if e[3].orderId == order_id]
            assert execution.time.startswith("20261130") and execution.shares == 4
        finally:
            app.stop()


def test_day_expiry_and_the_next_days_executions():
    start = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)                # 15:30 New York
    with SimulatorThread(SimulatorConfig(port=0, now=start, fill_delay_ms=1)) as sim:
        app = TimedApp().start(sim.host, sim.port, next(CLIENT_IDS))
        try:
            first = app.of("nextValidId")[-1][1]
            app.placeOrder(first, spy(), order("BUY", 2))
            app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == first and e[2] == "Filled")
            app.placeOrder(first + 1, spy(), order("BUY", 2, "LMT", 100.0))
            app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == first + 1 and e[2] == "Submitted")
            sim.call("step_clock", 1800)                                 # 16:00 New York
            app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == first + 1 and e[2] == "Cancelled")
            assert not app.errors(first + 1)
            sim.call("step_clock", 18 * 3600)
            app.reqExecutions(901, ExecutionFilter())
            app.wait_for(lambda e: e == ("execDetailsEnd", 901))
            assert not [e for e in app.of("execDetails") if e[1] == 901]
            assert len(sim.call("snapshot")["executions"]) == 1
        finally:
            app.stop()


def test_account_values_arrive_at_the_configured_interval():
    interval_s = 0.5
    with SimulatorThread(SimulatorConfig(port=0, fill_delay_ms=1, account_update_s=interval_s,
                                         now=datetime(2026, 11, 24, 15, 30, tzinfo=UTC))) as sim:
        app = TimedApp().start(sim.host, sim.port, next(CLIENT_IDS))
        try:
            order_id = app.of("nextValidId")[-1][1]
            app.placeOrder(order_id, spy(), order("BUY", 50))
            app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled")
            app.reqAccountUpdates(True, "DU1234567")
            app.wait_for(lambda e: e == ("accountDownloadEnd", "DU1234567"))
            subscribed = len(app.net_liquidation_at)
            moves = 0
            ends = time.monotonic() + 5 * interval_s
            while time.monotonic() < ends:
                sim.call("move_price", "SPY", 0.05)
                moves += 1
            arrivals = app.net_liquidation_at[subscribed:]
        finally:
            app.stop()
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    # the price moved `moves` times, NetLiquidation came once an interval
    assert moves > 20 and 3 <= len(arrivals) <= 6, arrivals
    assert min(gaps) >= 0.8 * interval_s, gaps
