"""The reasons an allocation that sent no order gives per strategy, from its plans and netted orders."""
from __future__ import annotations

from intents.allocation import nothing_traded
from lib.broker.parsing import ContractInfo
from lib.trading.sizing import ConsolidatedTrade
from strategies.base import Signals
from strategies.plan import PlannedOrder, StrategyPlan

MNQ, SPY = 730283085, 756733
CONTRACTS = {MNQ: ContractInfo(MNQ, "MNQ", "MNQZ6", "FUT", "USD", "CME", 2.0),
             SPY: ContractInfo(SPY, "SPY", "SPY", "STK", "USD", "ARCA")}


def plan(strategy: str, signals: Signals | None, *, targets=None, trades=None, holdings=None, error=None,
         exposure=90_000.0) -> StrategyPlan:
    return StrategyPlan(strategy, holdings or {}, {}, exposure=exposure, signals=signals, targets=targets,
                        trades=trades or {}, error=error)


def order(con_id: int, source: dict[str, int], refused: str | None = None) -> PlannedOrder:
    return PlannedOrder(ConsolidatedTrade(con_id, sum(source.values()), source), CONTRACTS[con_id], 1.0, refused)


def test_weight_zero_with_nothing_held():
    plans = [plan("dummy", Signals.target({MNQ: 0}), targets={MNQ: 0})]
    assert nothing_traded(plans, [], CONTRACTS) == {"dummy": "weight 0: no position wanted, and none held"}


def test_target_already_held():
    plans = [plan("dummy", Signals.target({MNQ: 1}), targets={MNQ: 2}, holdings={MNQ: 2})]
    assert nothing_traded(plans, [], CONTRACTS) == {
        "dummy": "the target positions equal the holdings (with the orders in flight)"}


def test_a_target_that_rounds_to_zero():
    plans = [plan("dummy", Signals.target({MNQ: 1}), targets={MNQ: 0}, exposure=10_000.0)]
    [reason] = nothing_traded(plans, [], CONTRACTS).values()
    assert reason.startswith("the trade rounds to zero shares or contracts") and "10,000.00" in reason
    assert "MNQZ6" in reason


def test_keep_with_the_strategys_reason_and_an_error():
    plans = [plan("spymacdvixy", Signals.keep(reason="no MACD crossover on the last bar")),
             plan("other", None, error="StrategyError: history SPY: no bars")]
    assert nothing_traded(plans, [], CONTRACTS) == {
        "spymacdvixy": "the strategy keeps its holdings: no MACD crossover on the last bar",
        "other": "strategy error: StrategyError: history SPY: no bars"}


def test_refused_orders_and_trades_that_net_out():
    plans = [plan("dummy", Signals.target({MNQ: 1}), targets={MNQ: 2}, trades={MNQ: 2}),
             plan("a", Signals.target({SPY: 1}), targets={SPY: 10}, trades={SPY: 10}),
             plan("b", Signals.target({SPY: 0}), targets={SPY: 0}, trades={SPY: -10}, holdings={SPY: 10})]
    planned = [order(MNQ, {"dummy": 2}, refused="notional 90,000.00 exceeds maxOrderNotional 50,000.00")]
    reasons = nothing_traded(plans, planned, CONTRACTS)
    assert reasons["dummy"] == "order refused: MNQZ6: notional 90,000.00 exceeds maxOrderNotional 50,000.00"
    assert reasons["a"] == reasons["b"] == "its trades net out against other strategies' trades in the same contracts"
