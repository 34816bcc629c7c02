"""Strategy registry, `dummy` and `spymacdvixy` signals on constructed market data."""
import json
import random
from datetime import date

import pandas as pd
import pytest

from lib.broker.instruments import Future, HistoryRequest, Stock
from lib.broker.parsing import ContractInfo
from lib.errors import BadRequest
from strategies import REGISTRY, get_strategy
from strategies.base import Requirements, Signals, StrategyError, StrategyInputs
from strategies.dummy import Dummy
from strategies.macd import crossover, macd
from strategies.spymacdvixy import MIN_BARS, SpyMacdVixy
from tests.support.macd_series import (crossover_closes, last_bar_crossover, macd_histogram,
                                       no_crossover_closes)

MNQ = ContractInfo(con_id=620730920, symbol="MNQ", local_symbol="MNQZ5", sec_type="FUT", currency="USD",
                   exchange="CME", multiplier=2.0, last_trade_date="20251219")
SPY = ContractInfo(con_id=756733, symbol="SPY", local_symbol="SPY", sec_type="STK", currency="USD",
                   exchange="SMART")
VIXY = ContractInfo(con_id=319357119, symbol="VIXY", local_symbol="VIXY", sec_type="STK", currency="USD",
                    exchange="SMART")


def daily_bars(closes):
    return pd.DataFrame({"date": pd.bdate_range("2025-06-02", periods=len(closes)).date, "open": closes,
                         "high": closes, "low": closes, "close": closes, "volume": 1000.0})


def spy_inputs(closes, holdings=None):
    return StrategyInputs(contracts={"SPY": SPY, "VIXY": VIXY}, bars={"SPY": daily_bars(closes)},
                          holdings=holdings or {})


def last_close_for_zero_histogram(prefix):
    """The next close at which the histogram would be exactly 0 (MACD is linear in the newest close)."""
    closes = pd.Series(prefix, dtype=float)
    fast = closes.ewm(span=12, adjust=False).mean().iloc[-1]
    slow = closes.ewm(span=26, adjust=False).mean().iloc[-1]
    signal = macd(closes)["signal"].iloc[-1]
    a_fast, a_slow = 2 / 13, 2 / 27
    return (signal - (1 - a_fast) * fast + (1 - a_slow) * slow) / (a_fast - a_slow)


# Registry

def test_registry_finds_the_built_in_strategies_by_id():
    assert REGISTRY["dummy"] is Dummy and REGISTRY["spymacdvixy"] is SpyMacdVixy
    assert all(cls.id == strategy_id for strategy_id, cls in REGISTRY.items())
    assert isinstance(get_strategy("spymacdvixy", {}), SpyMacdVixy)


@pytest.mark.parametrize("strategy_id", ["nope", "", "Dummy", None, 3])
def test_unknown_strategy_is_a_bad_request_listing_the_known_ids(strategy_id):
    with pytest.raises(BadRequest, match=r"unknown strategy .*known: .*dummy, .*spymacdvixy"):
        get_strategy(strategy_id, {})


@pytest.mark.parametrize("strategy_id, params, message", [
    ("spymacdvixy", {"seed": 1}, r"unknown parameter\(s\) for strategy 'spymacdvixy': seed \(accepted: none\)"),
    ("dummy", {"sed": 1}, r"unknown parameter\(s\) for strategy 'dummy': sed \(accepted: seed\)"),
    ("dummy", {"seed": 1.5}, "must be an integer"),
    ("dummy", {"seed": True}, "must be an integer"),
    ("dummy", {"seed": "abc"}, "must be an integer"),
    ("dummy", {"seed": "--5"}, "must be an integer"),
])
def test_invalid_params_are_bad_requests(strategy_id, params, message):
    with pytest.raises(BadRequest, match=message):
        get_strategy(strategy_id, params)


# Base records

def test_signals_need_weights_or_hold():
    with pytest.raises(ValueError):
        Signals(weights=None, hold=False)
    with pytest.raises(ValueError):
        Signals(weights={1: 1.0}, hold=True)
    assert Signals.keep(reason="x") == Signals(None, True, {"reason": "x"})


def test_requirements_histories_must_name_listed_instruments():
    with pytest.raises(ValueError, match="SPY"):
        Requirements(instruments={}, histories={"SPY": HistoryRequest("SPY")})


def test_contract_ids_cover_contracts_and_non_zero_holdings():
    inputs = StrategyInputs(contracts={"SPY": SPY, "VIXY": VIXY}, holdings={5: 3, 6: 0, SPY.con_id: 10})
    assert SpyMacdVixy({}).contract_ids(inputs) == [5, SPY.con_id, VIXY.con_id]


# dummy

def test_dummy_trades_the_front_quarterly_mnq_future():
    requirements = Dummy({"seed": 1}).requirements(date(2025, 12, 17))
    assert requirements.instruments == {"MNQ": Future("MNQ", "CME", "USD", "quarterly", 2)}
    assert requirements.histories == {}


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2**40, -3, "42", " 9 "])
def test_dummy_weight_is_reproducible_from_the_seed(seed):
    signals = get_strategy("dummy", {"seed": seed}).signals(StrategyInputs(contracts={"MNQ": MNQ}))
    expected = random.Random(int(seed)).choice((-1, 0, 1))
    assert signals.weights == {MNQ.con_id: expected}
    assert not signals.hold
    assert signals.details == {"seed": int(seed), "weight": expected, "contract": "MNQZ5"}
    again = Dummy({"seed": seed}).signals(StrategyInputs(contracts={"MNQ": MNQ}))
    assert again == signals


def test_dummy_weights_cover_short_flat_and_long():
    drawn = {Dummy({"seed": seed}).signals(StrategyInputs(contracts={"MNQ": MNQ})).weights[MNQ.con_id]
             for seed in range(30)}
    assert drawn == {-1, 0, 1}


def test_dummy_without_seed_reports_the_seed_it_used():
    signals = Dummy({}).signals(StrategyInputs(contracts={"MNQ": MNQ}))
    replay = Dummy({"seed": signals.details["seed"]}).signals(StrategyInputs(contracts={"MNQ": MNQ}))
    assert replay.weights == signals.weights
    assert len({Dummy({}).seed for _ in range(5)}) > 1


def test_dummy_without_its_contract_cannot_decide():
    with pytest.raises(StrategyError, match="MNQ"):
        Dummy({"seed": 1}).signals(StrategyInputs())


# spymacdvixy

def test_spymacdvixy_needs_spy_vixy_and_100_daily_spy_bars():
    requirements = SpyMacdVixy({}).requirements(date(2026, 1, 5))
    assert requirements.instruments == {"SPY": Stock("SPY", "SMART", "USD", "ARCA"),
                                        "VIXY": Stock("VIXY", "SMART", "USD", "BATS")}
    assert requirements.histories == {"SPY": HistoryRequest("SPY", "100 D", "1 day", "TRADES", True)}


@pytest.mark.parametrize("closes, weights, crossover_kind", [
    (crossover_closes("bullish"), {SPY.con_id: 1.0, VIXY.con_id: 0.0}, "bullish"),
    (crossover_closes("bearish"), {SPY.con_id: -1.0, VIXY.con_id: 1.0}, "bearish"),
    (no_crossover_closes(), None, None),
    (crossover_closes("bullish", bars=MIN_BARS), {SPY.con_id: 1.0, VIXY.con_id: 0.0}, "bullish"),
    (crossover_closes("bearish", bars=60, level=30.0), {SPY.con_id: -1.0, VIXY.con_id: 1.0}, "bearish"),
    (crossover_closes("bullish")[:-1], None, None),   # the bar before a crossover: nothing yet
])
def test_spymacdvixy_acts_on_a_crossover_on_the_last_bar_only(closes, weights, crossover_kind):
    signals = SpyMacdVixy({}).signals(spy_inputs(closes, holdings={SPY.con_id: 10}))
    assert signals.weights == weights
    assert signals.hold == (weights is None)
    assert signals.details["crossover"] == crossover_kind


@pytest.mark.parametrize("prefix_kind, nudge, expected", [
    ("bearish", +0.01, "bullish"),   # histogram < 0 before; a close just above the zero line crosses up
    ("bearish", -0.01, None),
    ("bullish", -0.01, "bearish"),   # histogram > 0 before; just below crosses down
    ("bullish", +0.01, None),
])
def test_crossover_boundary_on_the_last_close(prefix_kind, nudge, expected):
    prefix = crossover_closes(prefix_kind, bars=99)
    closes = prefix + [last_close_for_zero_histogram(prefix) + nudge]
    signals = SpyMacdVixy({}).signals(spy_inputs(closes))
    assert signals.details["crossover"] == expected
    assert signals.hold == (expected is None)


@pytest.mark.parametrize("histogram, expected", [
    ([0.0, 0.1], "bullish"), ([-0.2, 0.1], "bullish"), ([0.0, -0.1], "bearish"), ([0.2, -0.1], "bearish"),
    ([0.0, 0.0], None), ([-0.1, 0.0], None), ([0.1, 0.0], None), ([0.1, 0.2], None), ([-0.1, -0.2], None),
    ([5.0, -1.0, 1.0], "bullish"),
])
def test_crossover_rule(histogram, expected):
    assert crossover(pd.Series(histogram)) == expected


def test_macd_matches_the_textbook_recursion():
    closes = crossover_closes("bullish")
    assert macd(pd.Series(closes))["histogram"].tolist() == pytest.approx(macd_histogram(closes), abs=1e-9)


def test_spymacdvixy_reports_the_last_two_bars_of_the_indicator():
    closes = crossover_closes("bearish")
    signals = SpyMacdVixy({}).signals(spy_inputs(closes))
    indicator = macd(pd.Series(closes))
    for column in ("macd", "signal", "histogram"):
        assert signals.details[column] == pytest.approx(indicator[column].iloc[-2:].tolist())
    assert signals.details["histogram"][0] >= 0 > signals.details["histogram"][1]
    assert signals.details["bars"] == 100
    assert signals.details["lastBarDate"] == str(daily_bars(closes)["date"].iloc[-1])
    json.dumps(signals.details)


@pytest.mark.parametrize("inputs, message", [
    (spy_inputs(crossover_closes("bullish")[-(MIN_BARS - 1):]), f"at least {MIN_BARS} daily SPY bars .*, got 35"),
    (spy_inputs([]), "got 0"),
    (spy_inputs(crossover_closes("bullish")[:-1] + [float("nan")]), "non-finite close"),
    (StrategyInputs(contracts={"SPY": SPY, "VIXY": VIXY}), "no SPY bars"),
    (StrategyInputs(contracts={"SPY": SPY}, bars={"SPY": daily_bars(crossover_closes("bullish"))}), "VIXY"),
])
def test_spymacdvixy_cannot_decide_without_enough_data(inputs, message):
    with pytest.raises(StrategyError, match=message):
        SpyMacdVixy({}).signals(inputs)


# The helper other test suites use to pin SPY histories

@pytest.mark.parametrize("direction", ["bullish", "bearish"])
def test_crossover_series_cross_exactly_on_the_last_bar(direction):
    closes = crossover_closes(direction)
    assert len(closes) == 100 and all(400 < close < 650 for close in closes)
    assert last_bar_crossover(closes) == direction
    assert last_bar_crossover(closes[:-1]) is None
    assert last_bar_crossover(no_crossover_closes()) is None


def test_series_helper_refuses_impossible_requests():
    with pytest.raises(ValueError):
        crossover_closes("sideways")
    with pytest.raises(ValueError):
        crossover_closes("bullish", bars=MIN_BARS - 1)
