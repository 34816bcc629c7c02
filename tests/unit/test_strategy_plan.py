"""Sizing a strategy's plan, netting orders with the notional limit, and their limit prices."""
import pytest

from strategies.plan import StrategyPlan, at_limit_prices, net_orders, size, with_limit_prices
from lib.broker.instruments import PriceUnavailable
from lib.broker.parsing import ContractInfo
from strategies.base import Signals

SPY = ContractInfo(756733, "SPY", "SPY", "STK", "USD", "SMART")
MNQ = ContractInfo(1, "MNQ", "MNQZ6", "FUT", "USD", "CME", multiplier=2.0)
CONTRACTS = {SPY.con_id: SPY, MNQ.con_id: MNQ}
PRICES = {SPY.con_id: 500.0, MNQ.con_id: 20000.0}
FX = {SPY.con_id: 1.0, MNQ.con_id: 1.0}
MULTIPLIERS = {SPY.con_id: 1.0, MNQ.con_id: 2.0}


def plan(strategy, weights, holdings=None, exposure=100_000.0):
    p = StrategyPlan(strategy, holdings or {}, {}, exposure=exposure)
    p.signals = Signals.target(weights)
    return p


def test_targets_and_trades_follow_price_multiplier_and_holdings():
    p = plan("a", {SPY.con_id: 0.5, MNQ.con_id: -0.5}, holdings={SPY.con_id: 50}, exposure=200_000.0)
    size(p, PRICES, MULTIPLIERS, FX)
    # MNQ: 100,000 / (20,000 x 2) = 2.5 contracts, rounded half away from zero
    assert p.targets == {1: -3, SPY.con_id: 200}
    assert p.trades == {1: -3, SPY.con_id: 150}
    assert p.weight_scale == 1.0


def test_weights_adding_up_to_more_than_one_are_scaled_to_the_strategys_exposure():
    """SPY -1 and MNQ +1 would hold twice the strategy's exposure: each gets half of it."""
    p = plan("a", {SPY.con_id: -1.0, MNQ.con_id: 1.0}, exposure=200_000.0)
    size(p, PRICES, MULTIPLIERS, FX)
    assert p.weight_scale == 0.5 and p.report()["weightScale"] == 0.5
    assert p.targets == {1: 3, SPY.con_id: -200}
    gross = abs(p.targets[1]) * 20_000 * 2 + abs(p.targets[SPY.con_id]) * 500
    assert gross <= 200_000 * 1.1


def test_a_missing_price_is_that_strategys_error():
    p = plan("a", {SPY.con_id: 1.0})
    size(p, {SPY.con_id: PriceUnavailable("no quotes")}, MULTIPLIERS, FX)
    assert p.error.startswith("no price for conId 756733") and p.trades == {}


def test_held_signals_trade_nothing():
    p = StrategyPlan("a", {SPY.con_id: 10}, {}, exposure=1.0)
    p.signals = Signals.keep()
    size(p, PRICES, MULTIPLIERS, FX)
    assert p.trades == {} and p.targets is None


def test_netting_keeps_shares_and_refuses_orders_above_the_limit():
    a, b = plan("a", {SPY.con_id: 1.0}), plan("b", {SPY.con_id: -0.25, MNQ.con_id: 0.5}, exposure=200_000.0)
    for p in (a, b):
        size(p, PRICES, MULTIPLIERS, FX)
    orders = net_orders([a, b], CONTRACTS, PRICES, FX, max_order_notional=60_000)
    by_symbol = {o.contract.local_symbol: o for o in orders}
    assert by_symbol["SPY"].trade.source == {"a": 200, "b": -100}
    assert by_symbol["SPY"].trade.quantity == 100 and by_symbol["SPY"].notional == 50_000
    assert by_symbol["SPY"].refused is None
    assert by_symbol["MNQZ6"].notional == 120_000
    assert "exceeds maxOrderNotional" in by_symbol["MNQZ6"].refused


def test_failed_strategies_are_left_out_of_the_netting():
    a, b = plan("a", {SPY.con_id: 1.0}), plan("b", {SPY.con_id: 1.0})
    size(a, PRICES, MULTIPLIERS, FX)
    b.error = "boom"
    [order] = net_orders([a, b], CONTRACTS, PRICES, FX, None)
    assert order.trade.source == {"a": 200}


def test_limit_prices_go_to_sendable_orders_and_unpriceable_orders_are_refused():
    a = plan("a", {SPY.con_id: 1.0, MNQ.con_id: -1.0})
    size(a, PRICES, MULTIPLIERS, FX)
    orders = net_orders([a], CONTRACTS, PRICES, FX, None)
    orders = with_limit_prices(orders, PRICES, {SPY.con_id: 0.01, MNQ.con_id: PriceUnavailable("no details")}, -1.0)
    by_symbol = {o.contract.local_symbol: o for o in orders}
    assert by_symbol["SPY"].limit_price == 495.0 and by_symbol["SPY"].report()["limitPrice"] == 495.0
    assert by_symbol["MNQZ6"].limit_price is None
    assert by_symbol["MNQZ6"].refused.startswith("no minimum tick")


def test_refused_orders_get_no_limit_price():
    a = plan("a", {SPY.con_id: 1.0})
    size(a, PRICES, MULTIPLIERS, FX)
    [order] = with_limit_prices(net_orders([a], CONTRACTS, PRICES, FX, max_order_notional=1.0), PRICES,
                                {SPY.con_id: 0.01}, 1.0)
    assert order.limit_price is None and "limitPrice" not in order.report()


def test_a_limit_order_is_checked_against_max_order_notional_at_its_limit_price():
    a = plan("a", {SPY.con_id: 1.0})
    size(a, PRICES, MULTIPLIERS, FX)
    [sized] = net_orders([a], CONTRACTS, PRICES, FX, None)
    at_reference = sized.notional
    # a marketable buy 2% above the price it was sized at: under the limit there, over it at its own limit price
    [order] = at_limit_prices(with_limit_prices(net_orders([a], CONTRACTS, PRICES, FX, at_reference * 1.01), PRICES,
                                                {SPY.con_id: 0.01}, 2.0), FX, at_reference * 1.01)
    assert order.limit_price == 510.0
    assert order.notional == pytest.approx(at_reference * 1.02)
    assert "at the limit price exceeds maxOrderNotional" in order.refused
