"""Account views through the client library (tests.support.iblib) on a real socket: values, portfolio, positions, summary, PnL."""


import pytest

from tests.support.iblib import IB, MarketOrder, Stock
from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.simulator_process import wait_until
from tests.support.clock import NOW

ACCOUNT = "DU7654321"


@pytest.fixture(scope="module")
def gateway():
    # account values follow price moves at the update interval (IB: 180 s), shortened for these tests
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, account=ACCOUNT, cash=250_000, fill_delay_ms=1,
                                         account_update_s=0.25)) as sim:
        yield sim


@pytest.fixture(scope="module")
def ib(gateway):
    client = IB()
    client.connect(gateway.host, gateway.port, clientId=41, timeout=5)
    yield client
    client.disconnect()



def values(ib: IB, tag: str) -> dict[str, float]:
    return {v.currency: float(v.value) for v in ib.accountValues() if v.tag == tag and v.modelCode == ""}


def test_initial_account_values_arrive_on_connect(ib):
    net = values(ib, "NetLiquidation")
    assert net["USD"] == pytest.approx(250_000)
    assert values(ib, "TotalCashValue")["USD"] == pytest.approx(250_000)
    multi = [v for v in ib.accountValues() if v.tag == "NetLiquidation"]
    assert all(v.account == ACCOUNT for v in multi)


def test_fill_updates_positions_portfolio_and_values(ib, gateway):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    trade = ib.placeOrder(spy, MarketOrder("BUY", 20))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: trade.isDone())
    wait_until(pump=ib.waitOnUpdate, condition=lambda: any(p.contract.conId == spy.conId for p in ib.positions()))
    wait_until(pump=ib.waitOnUpdate, condition=lambda: any(i.contract.conId == spy.conId for i in ib.portfolio()))
    [position] = [p for p in ib.positions() if p.contract.conId == spy.conId]
    assert position.position == 20 and position.avgCost > 0 and position.account == ACCOUNT
    [item] = [i for i in ib.portfolio() if i.contract.conId == spy.conId]
    assert item.position == 20 and item.marketValue == pytest.approx(20 * item.marketPrice, rel=1e-6)
    spent = 20 * trade.orderStatus.avgFillPrice
    wait_until(pump=ib.waitOnUpdate, condition=lambda: values(ib, "TotalCashValue")["USD"] < 250_000 - spent + 1)
    assert values(ib, "TotalCashValue")["USD"] == pytest.approx(250_000 - spent, abs=20)


def test_account_summary_with_ledger(ib):
    summary = ib.accountSummary(ACCOUNT)
    tags = {v.tag for v in summary}
    assert {"NetLiquidation", "TotalCashValue", "BuyingPower", "AvailableFunds", "MaintMarginReq"} <= tags
    net = [v for v in summary if v.tag == "NetLiquidation"]
    assert net and net[0].currency == "USD"
    assert float(net[0].value) == pytest.approx(values(ib, "NetLiquidation")["USD"], abs=0.01)
    ledger = [v for v in summary if v.tag == "CashBalance"]
    assert any(v.currency == "BASE" for v in ledger) and any(v.currency == "USD" for v in ledger)


def test_pnl_subscription(ib):
    pnl = ib.reqPnL(ACCOUNT)
    try:
        wait_until(pump=ib.waitOnUpdate, condition=lambda: pnl.unrealizedPnL == pnl.unrealizedPnL and pnl.dailyPnL == pnl.dailyPnL)
        assert pnl.account == ACCOUNT
    finally:
        ib.cancelPnL(ACCOUNT)


def test_price_move_updates_portfolio_value(ib, gateway):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    gateway.call("set_price", "SPY", 700.0)
    wait_until(pump=ib.waitOnUpdate, condition=lambda: any(i.contract.conId == spy.conId and i.marketPrice == 700.0 for i in ib.portfolio()))
    [item] = [i for i in ib.portfolio() if i.contract.conId == spy.conId]
    assert item.marketValue == pytest.approx(20 * 700.0)
