"""Acceptance: the account stays consistent to the cent through buys and sells in two currencies and futures."""

import pytest

from tests.support.iblib import Forex, Future, MarketOrder, Stock
from tests.support.simulator_process import wait_until

CENT = 0.01 + 1e-9
START_CASH = 1_000_000.0


def trade_and_wait(ib, contract, action: str, quantity: float):
    trade = ib.placeOrder(contract, MarketOrder(action, quantity))
    wait_until(lambda: trade.isDone() and trade.fills and all(f.commissionReport.execId for f in trade.fills),
               what=f"{action} {quantity} {contract.localSymbol}", pump=ib.waitOnUpdate)
    assert trade.orderStatus.status == "Filled", trade.log
    return trade


def account_values(ib) -> dict[tuple[str, str], float]:
    values = {}
    for v in ib.accountValues():
        try:
            values[(v.tag, v.currency)] = float(v.value)
        except ValueError:
            pass
    return values


def expected_cash(fills) -> dict[str, float]:
    """Cash per currency implied by the fills: stocks and futures commissions, FX trades as conversions."""
    cash = {"USD": START_CASH}
    for fill in fills:
        contract, execution, report = fill.contract, fill.execution, fill.commissionReport
        sign = 1 if execution.side == "BOT" else -1
        if contract.secType == "CASH":
            cash[contract.symbol] = cash.get(contract.symbol, 0.0) + sign * execution.shares
            cash[contract.currency] -= sign * execution.shares * execution.price
        elif contract.secType == "STK":
            cash[contract.currency] -= sign * execution.shares * execution.price
        cash[report.currency] = cash.get(report.currency, 0.0) - report.commission
    return cash


def test_cash_positions_and_net_liquidation_after_trades_in_two_currencies(start_simulator, connect):
    simulator = start_simulator(seed=21)
    ib = connect(simulator)
    spy, qqq, eurusd = Stock("SPY", "SMART", "USD"), Stock("QQQ", "SMART", "USD"), Forex("EURUSD")
    ib.qualifyContracts(spy, qqq, eurusd)
    trades = [trade_and_wait(ib, spy, "BUY", 100), trade_and_wait(ib, eurusd, "BUY", 20_000),
              trade_and_wait(ib, qqq, "BUY", 50), trade_and_wait(ib, spy, "SELL", 40),
              trade_and_wait(ib, eurusd, "SELL", 5_000)]
    fills = [fill for trade in trades for fill in trade.fills]
    cash = expected_cash(fills)
    assert cash["EUR"] == pytest.approx(15_000, abs=CENT)

    def settled():
        values = account_values(ib)
        positions = {p.contract.conId: p.position for p in ib.positions()}
        return (values.get(("CashBalance", "EUR")) == pytest.approx(cash["EUR"], abs=CENT)
                and values.get(("CashBalance", "USD")) == pytest.approx(cash["USD"], abs=CENT)
                and positions == {spy.conId: 60, qqq.conId: 50, eurusd.conId: 15_000}
                and {i.contract.conId: i.position for i in ib.portfolio()} == positions
                and values)

    values = wait_until(settled, what="account values after the last fill", pump=ib.waitOnUpdate)
    rate = values[("ExchangeRate", "EUR")]
    eur_mid = ib.reqTickers(eurusd)[0].marketPrice()
    assert rate == pytest.approx(eur_mid, rel=1e-3)
    portfolio = {item.contract.conId: item for item in ib.portfolio()}
    # the Forex position's value is in the cash balances, not in StockMarketValue
    stock_value = sum(item.marketValue for item in portfolio.values() if item.contract.secType != "CASH")
    cash_in_base = cash["USD"] + cash["EUR"] * rate
    assert values[("TotalCashValue", "USD")] == pytest.approx(cash_in_base, abs=CENT)
    assert values[("StockMarketValue", "USD")] == pytest.approx(stock_value, abs=CENT)
    assert values[("NetLiquidation", "USD")] == pytest.approx(cash_in_base + stock_value, abs=CENT)
    summary = {(v.tag, v.currency): v.value for v in ib.accountSummary()}
    assert float(summary[("NetLiquidation", "USD")]) == pytest.approx(values[("NetLiquidation", "USD")], abs=CENT)
    assert float(summary[("TotalCashValue", "USD")]) == pytest.approx(cash_in_base, abs=CENT)
    available = values[("AvailableFunds", "USD")]
    assert values[("BuyingPower", "USD")] == pytest.approx(4 * available, abs=1)
    assert values[("EquityWithLoanValue", "USD")] - values[("InitMarginReq", "USD")] == pytest.approx(available,
                                                                                                       abs=1)
    assert values[("MaintMarginReq", "USD")] > 0
    # SPY: avgCost includes the buy commission; the sale realised against it
    buy, sell = trades[0].fills[0], trades[3].fills[0]
    avg_cost = buy.execution.price + buy.commissionReport.commission / 100
    spy_item = portfolio[spy.conId]
    assert spy_item.averageCost == pytest.approx(avg_cost, abs=1e-4)
    realized = 40 * (sell.execution.price - avg_cost) - sell.commissionReport.commission
    assert sell.commissionReport.realizedPNL == pytest.approx(realized, abs=CENT)
    assert spy_item.realizedPNL == pytest.approx(realized, abs=CENT)
    assert spy_item.marketValue == pytest.approx(60 * spy_item.marketPrice, abs=CENT)
    assert spy_item.unrealizedPNL == pytest.approx(60 * (spy_item.marketPrice - avg_cost), abs=CENT)
    state = simulator.state()
    assert state["cash"]["EUR"] == pytest.approx(cash["EUR"], abs=CENT)
    assert state["cash"]["USD"] == pytest.approx(cash["USD"], abs=CENT)


def test_futures_unrealised_pnl_counts_in_net_liquidation(start_simulator, connect):
    # account values follow a price move at the next update interval (IB: 180 s), shortened here
    simulator = start_simulator(seed=22, account_update_s=0.5)
    ib = connect(simulator)
    series = ib.reqContractDetails(Future("MNQ", exchange="CME"))
    mnq = min((d.contract for d in series), key=lambda c: c.lastTradeDateOrContractMonth)
    trade = trade_and_wait(ib, mnq, "BUY", 2)
    fill = trade.fills[0]
    assert fill.commissionReport.commission == pytest.approx(2 * 0.62, abs=CENT)
    new_price = simulator.admin("POST", "/price/move", {"symbol": mnq.conId, "pct": 1})["price"]
    expected_pnl = (new_price - fill.execution.price) * 2 * 2

    def settled():
        values = account_values(ib)
        items = [i for i in ib.portfolio() if i.contract.conId == mnq.conId]
        return items and items[0].marketPrice == new_price and values and (values, items[0])

    values, item = wait_until(settled, what="portfolio at the moved price", pump=ib.waitOnUpdate)
    assert item.position == 2
    assert item.unrealizedPNL == pytest.approx(expected_pnl - fill.commissionReport.commission, abs=CENT)
    # futures take no cash at entry: only the commission left the account
    assert values[("TotalCashValue", "USD")] == pytest.approx(START_CASH - fill.commissionReport.commission,
                                                              abs=CENT)
    assert values[("NetLiquidation", "USD")] == pytest.approx(
        START_CASH - fill.commissionReport.commission + expected_pnl, abs=CENT)
    assert values[("MaintMarginReq", "USD")] > 0
