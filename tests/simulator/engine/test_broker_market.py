"""The broker against the real Clock, Catalog and Market: fills at quoted prices and a consistent account."""

import json

import pytest

from simulator.engine.broker import Broker, OrderRejected, OrderRequest
from simulator.engine.catalog import Catalog
from simulator.engine.clock import Clock
from simulator.engine.market import Market
from tests.support.clock import NOW

START = 1_000_000.0
CENT = 0.01 + 1e-9


@pytest.fixture
def world():
    clock = Clock(NOW)
    catalog = Catalog(clock.now().date())
    market = Market(7, catalog, clock)
    events = []
    broker = Broker(account="DU1234567", base_currency="USD", cash=START, market=market, catalog=catalog,
                    clock=clock, listeners=[events.append])
    return clock, catalog, market, broker, events


def order(action, quantity, order_type="MKT", lmt_price=None, **fields):
    return OrderRequest(action=action, total_quantity=quantity, order_type=order_type, lmt_price=lmt_price,
                        **fields)


def values(broker):
    return {(tag, currency): value for tag, value, currency in broker.account_values()}


def expected_net_liquidation(broker, catalog, market):
    total = START
    for e in broker.executions():
        spec = catalog.by_con_id(e.con_id)
        sign = 1 if e.side == "BOT" else -1
        now_price = market.fx_rate(spec.symbol, spec.currency) if spec.sec_type == "CASH" else market.price(
            spec.con_id)
        total += sign * e.shares * (now_price - e.price) * spec.multiplier * market.fx_rate(spec.currency, "USD")
        total -= e.commission * market.fx_rate(e.commission_currency, "USD")
    return total


def test_fills_use_real_quotes_and_the_account_stays_consistent(world):
    clock, catalog, market, broker, events = world
    spy, eurusd, mnq = (catalog.resolve_symbol(s) for s in ("SPY", "EUR.USD", "MNQ"))
    quotes = {spec.con_id: market.quote(spec.con_id) for spec in (spy, eurusd, mnq)}
    broker.place_order(1, 1, spy, order("BUY", 100))
    broker.place_order(1, 2, eurusd, order("BUY", 20_000, extra={"exchange": "IDEALPRO"}))
    broker.place_order(1, 3, mnq, order("SELL", 2))
    assert broker.match() is False
    prices = {e.con_id: e.price for e in broker.executions()}
    assert prices == {spy.con_id: quotes[spy.con_id].ask, eurusd.con_id: quotes[eurusd.con_id].ask,
                      mnq.con_id: quotes[mnq.con_id].bid}
    assert broker.cash()["EUR"] == 20_000
    assert [e.commission for e in broker.executions()] == [0.35, 2.0, pytest.approx(1.24)]
    market.move_price(spy.con_id, 3)
    market.move_price(mnq.con_id, -2)
    clock.step(3 * 3600)
    account = values(broker)
    nlv = float(account[("NetLiquidation", "USD")])
    assert nlv == pytest.approx(expected_net_liquidation(broker, catalog, market), abs=CENT)
    parts = (float(account[("TotalCashValue", "USD")]) + float(account[("StockMarketValue", "BASE")])
             + float(account[("FuturesPNL", "BASE")]))
    assert nlv == pytest.approx(parts, abs=0.015)
    assert float(account[("ExchangeRate", "EUR")]) == pytest.approx(market.fx_rate("EUR", "USD"), rel=1e-9)
    assert {p.con_id: p.quantity for p in broker.positions()} == {spy.con_id: 100, mnq.con_id: -2,
                                                                  eurusd.con_id: 20_000}
    assert not [e for e in events if isinstance(e, OrderRejected)]


def test_a_resting_limit_fills_after_a_price_override_and_survives_a_restore(world):
    clock, catalog, market, broker, events = world
    qqq = catalog.resolve_symbol("QQQ")
    limit = round(market.quote(qqq.con_id).bid * 0.95, 2)
    broker.place_order(4, 1, qqq, order("BUY", 7, "LMT", limit, tif="GTC"))
    assert broker.match() is True and not broker.executions()
    restored = Broker.from_state(json.loads(json.dumps(broker.to_state())), market=market, catalog=catalog,
                                 clock=clock)
    assert restored.open_orders(4)[0].contract == qqq
    market.set_price(qqq.con_id, round(limit * 0.99, 2))
    assert restored.match() is False
    [execution] = restored.executions()
    assert execution.price <= limit and execution.shares == 7
    assert restored.next_valid_id(4) == 2
