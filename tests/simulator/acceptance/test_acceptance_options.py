"""Acceptance: the options of the chains reqSecDefOptParams lists are complete contracts through the client library:
they qualify by their fields and by conId, stream quotes with model greeks, have hours, ticks and history."""

import math

from tests.support.iblib import Index, LimitOrder, Option, Stock
from tests.support.simulator_process import wait_until


def chain_option(ib, symbol="SPY", right="C", under=None):
    """An at-the-money option of the underlying's chain, qualified, and the chain."""
    under = under or Stock(symbol, "SMART", "USD")
    ib.qualifyContracts(under)
    [chain] = [c for c in ib.reqSecDefOptParams(under.symbol, "", under.secType, under.conId)
               if c.exchange == "SMART"]
    price = ib.reqTickers(under)[0].marketPrice()
    strike = min(chain.strikes, key=lambda s: abs(s - price))
    option = Option(under.symbol, chain.expirations[3], strike, right, "SMART", currency="USD")
    ib.qualifyContracts(option)
    return option, chain


def test_an_option_of_the_chain_qualifies_with_its_details(ib):
    option, chain = chain_option(ib)
    assert option.conId > 0 and option.multiplier == "100" and option.tradingClass == chain.tradingClass
    assert option.localSymbol == f"SPY   {option.lastTradeDateOrContractMonth[2:]}C{round(option.strike * 1000):08d}"
    [details] = ib.reqContractDetails(Option(conId=option.conId))
    assert details.contract.strike == option.strike and details.contract.right == "C"
    assert details.underConId == 756733 and details.minTick == 0.01
    assert details.timeZoneId == "US/Eastern" and ":0930-" in details.liquidHours
    # every expiry of the chain, at one strike and right, by contract month wildcards
    month = chain.expirations[0][:6]
    found = ib.reqContractDetails(Option("SPY", month, option.strike, "P", "SMART", currency="USD"))
    assert {d.contract.lastTradeDateOrContractMonth for d in found} == {e for e in chain.expirations
                                                                         if e.startswith(month)}


def test_an_index_option_trades_in_nickels(ib):
    option, _ = chain_option(ib, under=Index("SPX", "CBOE", "USD"), right="P")
    [details] = ib.reqContractDetails(option)
    assert details.minTick == 0.05 and details.contract.multiplier == "100"


def test_a_strike_off_the_chain_is_unknown(ib):
    option, chain = chain_option(ib)
    off = Option("SPY", option.lastTradeDateOrContractMonth, max(chain.strikes) + 500, "C", "SMART", currency="USD")
    assert ib.reqContractDetails(off) == []


def test_market_data_carries_model_greeks_that_calculate_option_price_agrees_with(ib):
    option, _ = chain_option(ib)
    ticker = ib.reqMktData(option)
    wait_until(lambda: ticker.modelGreeks is not None and ticker.bid > 0, timeout_s=5, what="model greeks",
               pump=ib.waitOnUpdate)
    model = ticker.modelGreeks
    assert 0.3 < model.delta < 0.7 and model.gamma > 0 and model.vega > 0 and model.theta < 0
    assert ticker.bid < model.optPrice < ticker.ask or math.isclose(model.optPrice, ticker.last, abs_tol=0.01)
    assert ticker.bidGreeks is not None and ticker.askGreeks is not None
    assert ticker.bidGreeks.impliedVol < model.impliedVol < ticker.askGreeks.impliedVol
    computed = ib.calculateOptionPrice(option, model.impliedVol, model.undPrice)
    assert math.isclose(computed.optPrice, model.optPrice, rel_tol=1e-9)
    assert math.isclose(computed.delta, model.delta, rel_tol=1e-9)
    implied = ib.calculateImpliedVolatility(option, model.optPrice, model.undPrice)
    assert math.isclose(implied.impliedVol, model.impliedVol, rel_tol=1e-4)
    ib.cancelMktData(option)


def test_option_history_follows_the_underlying(ib):
    call, _ = chain_option(ib, right="C")
    put, _ = chain_option(ib, right="P")
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    under = ib.reqHistoricalData(spy, "", "1 D", "30 mins", "TRADES", useRTH=True)
    calls = ib.reqHistoricalData(call, "", "1 D", "30 mins", "TRADES", useRTH=True)
    puts = ib.reqHistoricalData(put, "", "1 D", "30 mins", "MIDPOINT", useRTH=True)
    assert [b.date for b in calls] == [b.date for b in under] == [b.date for b in puts]
    assert all(b.high >= max(b.open, b.close) and min(b.open, b.close) >= b.low > 0 for b in calls + puts)
    # a call rises with its underlying, a put falls
    moves = [(u.close - u.open, c.close - c.open, p.close - p.open) for u, c, p in zip(under, calls, puts)
             if abs(u.close - u.open) > 0.5]
    assert moves and all(u * c >= 0 and u * p <= 0 for u, c, p in moves)



def test_an_option_order_is_refused_as_unsupported(ib):
    option, _ = chain_option(ib)
    trade = ib.placeOrder(option, LimitOrder("BUY", 1, 1.0))
    wait_until(lambda: trade.isDone(), timeout_s=5, what="the order's end", pump=ib.waitOnUpdate)
    assert [entry.errorCode for entry in trade.log if entry.errorCode] == [201]
