"""The bridge through IB's connectivity messages against the simulator: 1100 and 1101 on an open socket."""
from ib_async import Stock

from tests.support.simulator_process import wait_until

CALL_TIMEOUT_S = 5
SPY = Stock(conId=756733, symbol="SPY", exchange="SMART", currency="USD")


def test_after_1101_the_market_data_ib_dropped_is_requested_again(simulator, bridge):
    ticker = bridge.call(lambda ib: ib.reqMktData(SPY), timeout_s=CALL_TIMEOUT_S)
    simulator.call("set_price", "SPY", 600.0)
    wait_until(lambda: bridge.call(lambda ib: ticker.last, timeout_s=CALL_TIMEOUT_S) == 600.0,
               what="the streaming SPY ticker at 600")

    # 1100, then 1101 "restored - data lost": IB has dropped every market data subscription
    simulator.call("arm_fault", "connectivity", seconds=0.5, restore="1101")
    wait_until(lambda: not bridge.ready, what="the bridge not ready after 1100")
    wait_until(lambda: bridge.ready, what="the bridge ready again after 1101")
    simulator.call("set_price", "SPY", 610.0)

    wait_until(lambda: bridge.call(lambda ib: ticker.last, timeout_s=CALL_TIMEOUT_S) == 610.0,
               what="the streaming SPY ticker at 610 after 1101")
