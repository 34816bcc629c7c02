"""Finding 8 end to end: trading config is checked when it is loaded, and an error names the key."""
from __future__ import annotations

import pytest

from tests.support.allocation import MNQ_PRICE, SPY, seed_for
from tests.support.macd_series import crossover_closes

DUMMY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}


@pytest.mark.parametrize("config, key", [
    ({"exposure": {"overall": 100}}, "exposure.overall"),        # 100 typed as a percent: 100x NetLiquidation
    ({"exposure": {"overall": 0}}, "exposure.overall"),
    ({"exposure": {"overall": 1.5}, "maxLeverage": 1.2}, "exposure.overall"),
    ({"retryCheckMinutes": 0}, "retryCheckMinutes"),            # 0 would turn the duplicate-run check off
    ({"exposure": {"strategies": {"dummy": 0.5}}}, "exposure.strategies"),   # 0.5 + spymacdvixy's 0.9
])
def test_config_out_of_bounds_refuses_to_trade_and_names_the_key(trading, config, key):
    t = trading(config=config, workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    body = {"strategies": ["dummy", "spymacdvixy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
    answers = [t.post("allocation", body) for _ in range(2)]
    assert t.broker_orders() == []
    for status, answer in answers:
        assert status == 500, answer
        assert answer["error"].startswith("InvalidConfig: config key") and repr(key) in answer["error"], answer


def test_leverage_allows_more_than_netliquidation_when_configured(trading):
    t = trading(config={"exposure": {"overall": 1.5}, "maxLeverage": 2}, workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(**DUMMY)
    # 1,000,000 x 1.5 x 0.1 / (21,000 x 2) = 3.57 -> 4 contracts
    assert [o["quantity"] for o in result["orders"]] == [4]


def test_max_order_notional_is_checked_at_the_limit_price(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    status, dry = t.post("allocation", {"strategies": ["spymacdvixy"], "dryRun": True})
    [trade] = [trade for trade in dry["consolidatedTrades"] if trade["conId"] == SPY]
    # a limit just above the order's notional at the price it is sized at; the marketable limit is 2% higher
    ceiling = round(trade["notionalInBase"] * 1.01, 2)
    t.store.set("config/paper", {"maxOrderNotional": ceiling}, merge=True)
    result = t.allocate(strategies=["spymacdvixy"], orderProperties={"limitOffsetPercent": 2})
    [refused] = [trade for trade in result["consolidatedTrades"] if trade["conId"] == SPY]
    assert refused["notionalInBase"] > ceiling
    assert "at the limit price exceeds maxOrderNotional" in refused["refused"]
    assert result["orders"] == [] and t.broker_orders() == []


def test_shares_adding_up_to_more_than_one_refuse_a_run_of_one_strategy_too(trading):
    """Finding 4: dummy 0.5 run alone and spymacdvixy 0.9 run apart would use 1.4 x exposure.overall."""
    t = trading(config={"exposure": {"overall": 0.9, "strategies": {"dummy": 0.5, "spymacdvixy": 0.9}}}, workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    status, answer = t.post("allocation", DUMMY)
    assert status == 500, answer
    assert "'exposure.strategies' must be shares adding up to at most 1 (they add up to 1.4)" in answer["error"]
    assert t.broker_orders() == []


def test_a_strategys_gross_exposure_stays_within_its_share(trading):
    """Finding 4: spymacdvixy's bearish weights (SPY -1, VIXY +1) share its exposure instead of doubling it."""
    t = trading(workers=1)
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bearish")})
    result = t.allocate(strategies=["spymacdvixy"])
    plan = result["strategies"]["spymacdvixy"]
    gross = sum(abs(trade["notionalInBase"]) for trade in result["consolidatedTrades"])
    assert len(result["orders"]) == 2 and gross <= plan["exposure"] * 1.01, (gross, plan)
