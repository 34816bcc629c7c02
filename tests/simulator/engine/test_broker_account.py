"""Broker account: commissions, cash per currency, avg cost, realised/unrealised PnL, margin, account values."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.commissions import commission_for
from simulator.engine.orders import NO_REALIZED_PNL
from tests.simulator.engine.broker_fakes import (
    ACCOUNT, EURUSD, MNQ, PENNY, QQQ, SPY, SPECS, USDJPY, FakeMarket, Recorder, make_broker, mkt,
    values_by_key)

CENT = 0.01 + 1e-9
START = 1_000_000.0


def trade(broker, spec, action, quantity, client_id=1):
    order_id = broker.next_valid_id(client_id)
    broker.place_order(client_id, order_id, spec, mkt(action, quantity))
    broker.match()
    execution = broker.executions()[-1]
    assert execution.order_id == order_id and execution.cum_qty == quantity
    return execution


def number(values, tag, currency):
    return float(values[(tag, currency)])


def expected_net_liquidation(broker, market, base="USD"):
    """Start cash plus every execution's PnL at current prices minus its commission, computed from fills only."""
    total = START * market.fx_rate("USD", base)
    for e in broker.executions():
        spec = SPECS[e.con_id]
        sign = 1 if e.side == "BOT" else -1
        pnl = sign * e.shares * (market.price(spec.con_id) - e.price) * spec.multiplier
        total += pnl * market.fx_rate(spec.currency, base)
        total -= e.commission * market.fx_rate(e.commission_currency, base)
    return total


def assert_consistent(broker, market, base="USD"):
    values = values_by_key(broker)
    nlv = number(values, "NetLiquidation", base)
    parts = (number(values, "TotalCashValue", base) + number(values, "StockMarketValue", "BASE")
             + number(values, "FuturesPNL", "BASE"))
    assert nlv == pytest.approx(parts, abs=0.015)
    assert nlv == pytest.approx(expected_net_liquidation(broker, market, base), abs=CENT)
    cash_in_base = sum(amount * market.fx_rate(currency, base) for currency, amount in broker.cash().items())
    assert number(values, "TotalCashValue", base) == pytest.approx(cash_in_base, abs=CENT)
    available = number(values, "AvailableFunds", base)
    assert available == pytest.approx(number(values, "EquityWithLoanValue", base)
                                      - number(values, "InitMarginReq", base), abs=CENT)
    assert number(values, "BuyingPower", base) == pytest.approx(max(0.0, 4 * available), abs=0.05)
    return values


@pytest.mark.parametrize("shares, price, expected", [
    (10, 600.0, 0.35),          # minimum per order
    (300, 600.0, 1.05),         # per share
    (1000, 0.2, 2.0),           # capped at 1% of the trade value, below the per-share amount
    (50, 0.5, 0.25),            # the 1% cap wins over the minimum
])
def test_stock_commission_is_ib_tiered(shares, price, expected):
    commission = commission_for(SPY, shares, price)
    assert (commission.amount, commission.currency) == (pytest.approx(expected), "USD")


def test_futures_and_forex_commissions():
    assert commission_for(MNQ, 3, 21000.0).amount == pytest.approx(3 * 0.62)
    assert commission_for(EURUSD, 20_000, 1.08).amount == 2.0
    big = commission_for(EURUSD, 5_000_000, 1.08)
    assert (big.amount, big.currency) == (pytest.approx(5_000_000 * 1.08 * 0.00002), "USD")
    # USD.JPY: the value is converted to USD before the basis points apply
    assert commission_for(USDJPY, 2_000_000, 150.0, 1 / 150).amount == pytest.approx(40.0)


def test_opening_account_values():
    broker = make_broker(cash=250_000)
    values = values_by_key(broker)
    for tag in ("NetLiquidation", "TotalCashValue", "EquityWithLoanValue", "AvailableFunds", "ExcessLiquidity"):
        assert values[(tag, "USD")] == "250000.00", tag
    assert values[("BuyingPower", "USD")] == "1000000.00"
    assert values[("InitMarginReq", "USD")] == values[("MaintMarginReq", "USD")] == "0.00"
    assert values[("CashBalance", "BASE")] == values[("CashBalance", "USD")] == "250000.00"
    assert values[("ExchangeRate", "USD")] == "1.00" and values[("Currency", "BASE")] == "USD"
    assert values[("AccountCode", "")] == ACCOUNT
    assert broker.positions() == [] and broker.portfolio() == [] and broker.cash() == {"USD": 250_000.0}


def test_buys_and_sells_in_two_currencies_stay_consistent_to_the_cent():
    market = FakeMarket()
    broker = make_broker(market=market)
    fills = [trade(broker, SPY, "BUY", 100), trade(broker, EURUSD, "BUY", 20_000),
             trade(broker, QQQ, "BUY", 50), trade(broker, SPY, "SELL", 40), trade(broker, EURUSD, "SELL", 5_000)]
    assert_consistent(broker, market)
    market.set_price(SPY.con_id, 612.34)
    market.usd_values["EUR"] = 1.1
    values = assert_consistent(broker, market)
    eur_buy, eur_sell = fills[1], fills[4]
    cash = broker.cash()
    assert cash["EUR"] == pytest.approx(15_000)
    usd = (START - sum(e.commission for e in fills)
           - 100 * fills[0].price - 50 * fills[2].price + 40 * fills[3].price
           - 20_000 * eur_buy.price + 5_000 * eur_sell.price)
    assert cash["USD"] == pytest.approx(usd, abs=1e-6)
    assert number(values, "CashBalance", "EUR") == pytest.approx(15_000)
    assert number(values, "CashBalance", "USD") == pytest.approx(usd, abs=CENT)
    assert number(values, "ExchangeRate", "EUR") == pytest.approx(1.1)
    assert number(values, "CashBalance", "BASE") == pytest.approx(usd + 15_000 * 1.1, abs=CENT)
    assert number(values, "StockMarketValue", "USD") == pytest.approx(60 * 612.34 + 50 * 520.0, abs=CENT)
    assert number(values, "InitMarginReq", "USD") == pytest.approx(0.25 * (60 * 612.34 + 50 * 520.0), abs=CENT)
    # an IDEALPRO trade is also a Forex position in the pair (its value stays in the cash balances)
    assert {p.con_id: p.quantity for p in broker.positions()} == {SPY.con_id: 60, QQQ.con_id: 50,
                                                                  EURUSD.con_id: 15_000}
    assert {i.con_id for i in broker.portfolio()} == {SPY.con_id, QQQ.con_id, EURUSD.con_id}
    assert eur_buy.realized_pnl == NO_REALIZED_PNL and eur_buy.commission_currency == "USD"


def test_avg_cost_includes_commission_and_a_sale_realises_against_it():
    market = FakeMarket()
    broker = make_broker(market=market)
    buy = trade(broker, SPY, "BUY", 100)
    avg_cost = buy.price + buy.commission / 100
    [position] = broker.positions()
    assert position.avg_cost == pytest.approx(avg_cost) and position.quantity == 100
    market.set_price(SPY.con_id, 605.0)
    sell = trade(broker, SPY, "SELL", 40)
    realized = 40 * (sell.price - avg_cost) - sell.commission
    assert sell.realized_pnl == pytest.approx(realized, abs=CENT)
    [item] = broker.portfolio()
    assert item.realized_pnl == pytest.approx(realized, abs=CENT)
    assert item.average_cost == pytest.approx(avg_cost)
    assert item.market_price == 605.0 and item.market_value == pytest.approx(60 * 605.0)
    assert item.unrealized_pnl == pytest.approx(60 * (605.0 - avg_cost), abs=CENT)
    values = assert_consistent(broker, market)
    assert number(values, "RealizedPnL", "BASE") == pytest.approx(realized, abs=CENT)
    assert number(values, "UnrealizedPnL", "BASE") == pytest.approx(item.unrealized_pnl, abs=CENT)


def test_closing_a_position_removes_its_line_and_keeps_the_realised_pnl():
    market = FakeMarket()
    broker = make_broker(market=market)
    buy = trade(broker, QQQ, "BUY", 10)
    market.set_price(QQQ.con_id, 530.0)
    sell = trade(broker, QQQ, "SELL", 10)
    assert broker.positions() == [] and broker.portfolio() == []
    realized = 10 * (sell.price - buy.price) - buy.commission - sell.commission
    assert sell.realized_pnl == pytest.approx(realized, abs=CENT)
    values = assert_consistent(broker, market)
    assert number(values, "RealizedPnL", "USD") == pytest.approx(realized, abs=CENT)
    assert broker.cash()["USD"] == pytest.approx(START + realized)


def test_short_sale_avg_cost_nets_the_commission_and_covering_realises():
    market = FakeMarket()
    broker = make_broker(market=market)
    short = trade(broker, QQQ, "SELL", 10)
    [position] = broker.positions()
    assert position.quantity == -10
    assert position.avg_cost == pytest.approx(short.price - short.commission / 10)
    assert broker.cash()["USD"] == pytest.approx(START + 10 * short.price - short.commission)
    values = assert_consistent(broker, market)
    assert number(values, "StockMarketValue", "USD") == pytest.approx(-10 * 520.0)
    assert number(values, "InitMarginReq", "USD") == pytest.approx(0.30 * 10 * 520.0)
    assert number(values, "GrossPositionValue", "USD") == pytest.approx(10 * 520.0)
    market.set_price(QQQ.con_id, 500.0)
    cover = trade(broker, QQQ, "BUY", 10)
    expected = 10 * (position.avg_cost - cover.price) - cover.commission
    assert cover.realized_pnl == pytest.approx(expected, abs=CENT)
    assert_consistent(broker, market)


def test_a_fill_through_zero_closes_then_opens_with_the_commission_split():
    market = FakeMarket()
    broker = make_broker(market=market)
    buy = trade(broker, SPY, "BUY", 10)
    flip = trade(broker, SPY, "SELL", 15)
    [position] = broker.positions()
    assert position.quantity == -5
    closing_commission = flip.commission * 10 / 15
    assert flip.realized_pnl == pytest.approx(
        10 * (flip.price - (buy.price + buy.commission / 10)) - closing_commission, abs=CENT)
    assert position.avg_cost == pytest.approx(flip.price - (flip.commission - closing_commission) / 5)
    assert_consistent(broker, market)


def test_futures_take_no_cash_and_count_their_pnl_in_net_liquidation():
    market = FakeMarket()
    broker = make_broker(market=market)
    buy = trade(broker, MNQ, "BUY", 2)
    assert buy.commission == pytest.approx(2 * 0.62)
    values = assert_consistent(broker, market)
    assert number(values, "TotalCashValue", "USD") == pytest.approx(START - buy.commission)
    assert number(values, "InitMarginReq", "USD") == pytest.approx(2 * 2500)
    assert number(values, "MaintMarginReq", "USD") == pytest.approx(2 * 2000)
    assert number(values, "StockMarketValue", "USD") == 0
    market.set_price(MNQ.con_id, 21210.0)
    pnl = (21210.0 - buy.price) * 2 * 2
    values = assert_consistent(broker, market)
    assert number(values, "FuturesPNL", "USD") == pytest.approx(pnl, abs=CENT)
    assert number(values, "NetLiquidation", "USD") == pytest.approx(START - buy.commission + pnl, abs=CENT)
    [item] = broker.portfolio()
    assert item.unrealized_pnl == pytest.approx(pnl - buy.commission, abs=CENT)
    assert item.average_cost == pytest.approx(buy.price * 2 + buy.commission / 2)
    assert item.market_value == pytest.approx(2 * 21210.0 * 2)
    sell = trade(broker, MNQ, "SELL", 2)
    trading_pnl = (sell.price - buy.price) * 2 * 2
    assert broker.cash()["USD"] == pytest.approx(START - buy.commission - sell.commission + trading_pnl)
    assert sell.realized_pnl == pytest.approx(trading_pnl - buy.commission - sell.commission, abs=CENT)
    values = assert_consistent(broker, market)
    assert number(values, "FuturesPNL", "USD") == 0 and broker.positions() == []


def test_a_conversion_through_fxconv_moves_cash_and_leaves_no_position():
    """IB's conversion desk (FXCONV, what TWS's Convert Currency tool uses) books cash only, as the service's
    cash balancer expects; the same trade on IDEALPRO is a Forex position."""
    market = FakeMarket()
    broker = make_broker(market=market)
    broker.place_order(1, 1, EURUSD, mkt("BUY", 20_000, extra={"exchange": "IDEALPRO"}))
    broker.place_order(1, 2, EURUSD, mkt("SELL", 8_000, extra={"exchange": "FXCONV"}))
    broker.match()
    assert [p.quantity for p in broker.positions()] == [20_000]
    assert broker.cash()["EUR"] == pytest.approx(12_000)
    conversion = broker.executions()[-1]
    assert conversion.exchange == "FXCONV" and conversion.realized_pnl == NO_REALIZED_PNL
    assert_consistent(broker, market)


def test_forex_trade_in_a_pair_quoted_in_another_currency_moves_both_cash_balances():
    market = FakeMarket()
    broker = make_broker(market=market)
    execution = trade(broker, USDJPY, "BUY", 10_000)
    cash = broker.cash()
    assert cash["JPY"] == pytest.approx(-10_000 * execution.price)
    assert cash["USD"] == pytest.approx(START + 10_000 - execution.commission)
    assert execution.commission == 2.0
    [position] = broker.positions()
    assert (position.con_id, position.quantity) == (USDJPY.con_id, 10_000)
    assert position.avg_cost == pytest.approx(execution.price), "in JPY, without the USD commission"
    values = assert_consistent(broker, market)
    assert number(values, "CashBalance", "JPY") == pytest.approx(-10_000 * execution.price, abs=CENT)
    assert values[("ExchangeRate", "JPY")] == f"{1 / 150:.10g}"


def test_account_in_a_non_usd_base_currency():
    market = FakeMarket()
    broker = make_broker(market=market, base_currency="EUR", cash=500_000)
    assert broker.cash() == {"EUR": 500_000}
    trade(broker, SPY, "BUY", 100)
    values = values_by_key(broker)
    usd_rate = 1 / 1.08
    assert number(values, "ExchangeRate", "USD") == pytest.approx(usd_rate)
    assert number(values, "StockMarketValue", "USD") == pytest.approx(100 * 600.0)
    assert number(values, "StockMarketValue", "BASE") == pytest.approx(100 * 600.0 * usd_rate, abs=CENT)
    expected = 500_000 + sum(amount * market.fx_rate(c, "EUR") for c, amount in broker.cash().items()
                             if c != "EUR") + 100 * 600.0 * usd_rate
    assert number(values, "NetLiquidation", "EUR") == pytest.approx(expected, abs=CENT)
    assert ("NetLiquidation", "USD") not in values


def test_account_values_carry_base_and_per_currency_rows_and_never_negative_zero():
    broker = make_broker()
    trade(broker, EURUSD, "BUY", 10_000)
    trade(broker, EURUSD, "SELL", 10_000)
    rows = broker.account_values()
    assert all(value != "-0.00" for _, value, _ in rows)
    currencies = {currency for tag, _, currency in rows if tag == "CashBalance"}
    assert currencies == {"BASE", "USD", "EUR"}
    first_cash = next(currency for tag, _, currency in rows if tag == "CashBalance")
    assert first_cash == "BASE"
    tags = {tag for tag, _, _ in rows}
    assert {"NetLiquidation", "TotalCashValue", "BuyingPower", "AvailableFunds", "ExcessLiquidity",
            "EquityWithLoanValue", "GrossPositionValue", "InitMarginReq", "MaintMarginReq", "ExchangeRate",
            "UnrealizedPnL", "RealizedPnL", "StockMarketValue", "FuturesPNL", "AccountCode", "AccountType",
            "Currency", "CashBalance", "NetLiquidationByCurrency"} <= tags
    assert len(rows) == len({(tag, currency) for tag, _, currency in rows}), "no duplicate rows"


def test_forex_orders_are_limited_by_buying_power():
    broker = make_broker(cash=10_000, recorder=(recorder := Recorder()))
    broker.place_order(1, 1, EURUSD, mkt("BUY", 30_000))
    broker.place_order(1, 2, EURUSD, mkt("BUY", 100_000))
    broker.match()
    assert [e.order_id for e in broker.executions()] == [1]
    assert [e.order.order_id for e in recorder.events if hasattr(e, "code")] == [2]


def test_preview_reports_margin_change_and_commission():
    broker = make_broker()
    preview = broker.preview_order(SPY, mkt("BUY", 100))
    assert preview["margin"]["initMarginBefore"] == "0.00"
    assert float(preview["margin"]["initMarginChange"]) == pytest.approx(0.25 * 100 * 600.01, abs=CENT)
    assert preview["commission"] == 0.35 and preview["commission_currency"] == "USD"
    assert not broker.executions() and not broker.open_orders(None)
    with pytest.raises(ValueError, match="size must be positive"):
        broker.preview_order(SPY, mkt("BUY", 0))


TRADES = st.lists(st.tuples(st.sampled_from([SPY, QQQ, PENNY, MNQ, EURUSD, USDJPY]),
                            st.sampled_from(["BUY", "SELL"]), st.integers(1, 40),
                            st.floats(-3.0, 3.0)),
                  min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(TRADES)
def test_account_is_consistent_after_every_fill_of_any_sequence(trades):
    market = FakeMarket()
    broker = make_broker(market=market)
    for spec, action, lots, move_pct in trades:
        quantity = lots * (1000 if spec.sec_type == "CASH" else 1)
        order_id = broker.next_valid_id(1)
        broker.place_order(1, order_id, spec, mkt(action, quantity))
        broker.match()
        if spec.sec_type == "CASH":
            market.usd_values["EUR"] *= 1 + move_pct / 100
        else:
            market.set_price(spec.con_id, round(market.price(spec.con_id) * (1 + move_pct / 100), 2))
        assert_consistent(broker, market)
    realized = sum(e.realized_pnl for e in broker.executions() if e.realized_pnl != NO_REALIZED_PNL)
    values = values_by_key(broker)
    assert number(values, "RealizedPnL", "BASE") == pytest.approx(realized, abs=0.01 * len(trades) + CENT)
