"""Allocation arithmetic: rounding, target positions, per-strategy trades and netting across strategies."""
import math

import pytest

from lib.trading.sizing import (ConsolidatedTrade, closing_quantity, consolidate, round_half_away, strategy_trades,
                                target_position, target_positions)


@pytest.mark.parametrize("value, expected", [
    (2.5, 3), (-2.5, -3), (0.5, 1), (-0.5, -1), (1.5, 2), (3.5, 4),   # halves away from zero, never to even
    (2.4999, 2), (-2.4999, -2), (0.49, 0), (-0.49, 0), (0.0, 0), (-0.0, 0), (7.0, 7), (-7.6, -8),
])
def test_round_half_away(value, expected):
    assert round_half_away(value) == expected
    assert isinstance(round_half_away(value), int)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_round_half_away_refuses_non_finite(value):
    with pytest.raises(ValueError):
        round_half_away(value)


@pytest.mark.parametrize("exposure, weight, price, multiplier, fx, expected", [
    (100_000, 1, 500.0, 1, 1.0, 200),            # SPY long
    (100_000, -1, 500.0, 1, 1.0, -200),          # SPY short
    (100_000, 0, 500.0, 1, 1.0, 0),              # flat
    (100_000, 0.5, 333.0, 1, 1.0, 150),          # 150.15
    (100_000, 1, 20_000.0, 2, 1.0, 3),           # MNQ: 2.5 contracts round away from zero
    (100_000, -1, 20_000.0, 2, 1.0, -3),
    (100_000, 1, 21_000.0, 2, 1.0, 2),           # 2.38
    (0, 1, 500.0, 1, 1.0, 0),                    # no exposure
    (100_000, 1, 100.0, 1, 0.9, 1111),           # base EUR, USD stock at 0.9 EUR per USD: 1111.1
    (100_000, 1, 100.0, 1, 1.1, 909),            # base USD, EUR stock at 1.1 USD per EUR: 909.09
    (1_000_000, 1, 3000.0, 1, 1 / 160.0, 53333),  # JPY stock, base USD: 53333.3
    (10, 1, 500.0, 1, 1.0, 0),                   # less than half a share
])
def test_target_position(exposure, weight, price, multiplier, fx, expected):
    assert target_position(exposure, weight, price, multiplier, fx) == expected


@pytest.mark.parametrize("exposure, weight, price, multiplier, fx", [
    (100_000, 1, 0.0, 1, 1.0), (100_000, 1, -500.0, 1, 1.0), (100_000, 1, math.nan, 1, 1.0),
    (100_000, 1, 500.0, 0, 1.0), (100_000, 1, 500.0, -2, 1.0),
    (100_000, 1, 500.0, 1, 0.0), (100_000, 1, 500.0, 1, -1.1), (100_000, 1, 500.0, 1, math.inf),
    (-1, 1, 500.0, 1, 1.0), (math.nan, 1, 500.0, 1, 1.0), (100_000, math.nan, 500.0, 1, 1.0),
    (100_000, True, 500.0, 1, 1.0),
])
def test_target_position_refuses_invalid_inputs(exposure, weight, price, multiplier, fx):
    with pytest.raises(ValueError):
        target_position(exposure, weight, price, multiplier, fx)


def test_target_positions_sizes_each_weight_and_names_missing_data():
    targets = target_positions({2: -1.0, 1: 1.0}, 100_000, {1: 500.0, 2: 20.0}, {1: 1, 2: 1}, {1: 1.0, 2: 1.0})
    assert targets == {1: 200, 2: -5000}
    assert list(targets) == [1, 2]
    with pytest.raises(ValueError, match="conId 2 has no price"):
        target_positions({1: 1.0, 2: 1.0}, 100_000, {1: 500.0}, {1: 1, 2: 1}, {1: 1.0, 2: 1.0})
    with pytest.raises(ValueError, match="conId 1: price"):
        target_positions({1: 1.0}, 100_000, {1: math.nan}, {1: 1}, {1: 1.0})


@pytest.mark.parametrize("targets, holdings, in_flight, expected", [
    ({1: 200}, {}, {}, {1: 200}),                         # open
    ({1: 200}, {1: 150}, {}, {1: 50}),                    # top up
    ({1: 200}, {1: 200}, {}, {}),                         # already there: zero dropped
    ({1: -200}, {1: 100}, {}, {1: -300}),                 # flip
    ({1: 200}, {1: 150}, {1: 50}, {}),                    # in-flight order already covers it
    ({1: 200}, {1: 150}, {1: 30}, {1: 20}),
    ({2: 3}, {1: 2}, {}, {1: -2, 2: 3}),                  # held, no longer targeted: closed (rollover)
    ({1: 0}, {1: -4}, {}, {1: 4}),                        # explicit flat
    # a working buy the strategy no longer wants is not sold against: should it never fill, the strategy would be
    # short; nor a holding sold past zero to offset it
    ({}, {}, {1: 5}, {}),
    ({1: 0}, {1: 3}, {1: 5}, {1: -3}),
    ({1: -5}, {}, {1: 5}, {1: -10}),                      # short is the target: the sell goes ahead
    ({1: 2}, {1: 5}, {1: -4}, {1: 1}),                    # a working sell the strategy wants less of
    ({1: 0, 2: 0}, {1: 0}, {}, {}),
])
def test_strategy_trades(targets, holdings, in_flight, expected):
    trades = strategy_trades(targets, holdings, in_flight)
    assert trades == expected
    assert list(trades) == sorted(expected)


def test_consolidate_nets_two_strategies_on_one_contract_and_keeps_the_split():
    netted = consolidate({"spymacdvixy": {756733: -200, 99: 10}, "dummy": {756733: 50}})
    assert netted == {
        99: ConsolidatedTrade(99, 10, {"spymacdvixy": 10}),
        756733: ConsolidatedTrade(756733, -150, {"dummy": 50, "spymacdvixy": -200}),
    }
    assert list(netted) == [99, 756733]
    assert list(netted[756733].source) == ["dummy", "spymacdvixy"]
    assert netted[756733].action == "SELL" and netted[99].action == "BUY"
    assert netted[756733].as_record() == {"conId": 756733, "quantity": -150,
                                          "source": {"dummy": 50, "spymacdvixy": -200}}


def test_consolidate_reports_trades_that_cancel_out_without_an_order():
    netted = consolidate({"b": {7: -3}, "a": {7: 3, 8: 0}})
    assert netted == {7: ConsolidatedTrade(7, 0, {"a": 3, "b": -3})}
    assert netted[7].action is None


@pytest.mark.parametrize("trades", [
    {"a": {1: 2, 2: -1}, "b": {2: 4, 1: -5}},
    {"b": {1: -5, 2: 4}, "a": {2: -1, 1: 2}},
])
def test_consolidate_is_deterministic_whatever_the_input_order(trades):
    netted = consolidate(trades)
    assert [(t.con_id, t.quantity, list(t.source.items())) for t in netted.values()] == [
        (1, -3, [("a", 2), ("b", -5)]), (2, 3, [("a", -1), ("b", 4)])]


def test_consolidate_nothing():
    assert consolidate({}) == {} and consolidate({"a": {}}) == {}


@pytest.mark.parametrize("holding, working, trade", [
    (2, 0, -2), (-3, 0, 3), (0, 0, 0), (0, 5, 0), (0, -5, 0),
    (2, -2, 0), (2, -1, -1), (2, -5, 0),      # a working sell closes part or all of a long
    (2, 3, -2),                                # a working buy is left working; the long is still closed
    (-3, 1, 2), (-3, 4, 0), (-3, -2, 3),
])
def test_closing_never_takes_a_position_past_zero(holding, working, trade):
    assert closing_quantity(holding, working) == trade
    assert trade * holding <= 0        # a close only ever reduces
    # wherever the working order ends, the close adds nothing past zero that the order itself does not
    low, high = sorted((holding + trade, holding + trade + working))
    if holding > 0:
        assert low >= min(0, holding + working)
    if holding < 0:
        assert high <= max(0, holding + working)
