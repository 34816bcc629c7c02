"""The replay's mechanics: fills at the next open, commissions, quantity targets on a rolled future, FX."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from backtest import engine
from backtest.bars import from_frames
from backtest.commissions import TieredCommissions
from lib.broker.instruments import Stock
from lib.broker.parsing import ContractInfo
from strategies.base import Requirements, Signals, Strategy, StrategyInputs
from tests.support.bars import example_strategy, random_walks


class AllIn(Strategy):
    """All of the exposure in one stock, every session (trades only when the target moves)."""

    id = "allin"
    stock = Stock("SPY")

    def requirements(self, today: date) -> Requirements:
        return Requirements(instruments={"SPY": self.stock})

    def signals(self, inputs: StrategyInputs) -> Signals:
        return Signals.target({inputs.contract("SPY").con_id: 1.0})


def flat_bars(days, open_price, close_price):
    return pd.DataFrame({"date": days, "open": open_price, "high": close_price, "low": open_price,
                         "close": close_price, "volume": 1.0})


def test_orders_decided_at_a_close_fill_at_the_next_open_with_tiered_commissions():
    days = engine.sessions_between(date(2026, 3, 2), date(2026, 3, 4), "XNYS")
    bars = from_frames({"SPY": flat_bars(days, 99.0, 100.0)})
    result = engine.run(AllIn(), bars, engine.Options(days[0], days[-1], cash=100_000.0))
    first = result.fills[0]
    assert (first.day, first.quantity, first.price) == (days[1], 1000, 99.0)   # 100,000 / close 100
    assert first.commission == pytest.approx(1000 * 0.0035 + 1000 * 0.0002)
    # bought 1000 at 99, marked at 100: +1000 less the commission
    assert result.equity.iloc[1] == pytest.approx(100_000 + 1000 - first.commission)


def test_tiered_stock_commission_minimum_and_maximum():
    spy = ContractInfo(1, "SPY", "SPY", "STK", "USD", "ARCA")
    commissions = TieredCommissions()
    assert commissions.charge(spy, 10, 100.0, date(2026, 1, 5)) == pytest.approx(0.35 + 10 * 0.0002)
    assert commissions.charge(spy, 100, 0.1, date(2026, 1, 5)) == pytest.approx(0.1 + 100 * 0.0002)   # 1% of value


def test_a_quantity_target_on_a_future_rolls_by_its_expiry_scheme():
    start, end = date(2026, 1, 2), date(2026, 4, 30)
    days = engine.sessions_between(date(2025, 1, 2), end, "XNYS")
    rising = [400.0 + i for i in range(len(days))]            # SPY's 50-session average stays above its 200
    frames = {"SPY": flat_bars(days, rising, rising), "MNQ": flat_bars(days, 20_000.0, 20_000.0)}
    trend = example_strategy("trend_mnq", "TrendMnq")
    result = engine.run(trend(), from_frames(frames), engine.Options(start, end, cash=10_000_000.0))
    assert all(decision.error is None for decision in result.decisions)
    trades = [(fill.day, fill.local_symbol, fill.quantity) for fill in result.fills]
    # 1 contract however large the account; MNQH6's last trade date is Friday 20 March, so with rollover_days=2
    # the decision of Wednesday the 18th names MNQM6, filled at the next open
    assert trades == [(date(2026, 1, 5), "MNQH6", 1), (date(2026, 3, 19), "MNQH6", -1),
                      (date(2026, 3, 19), "MNQM6", 1)]
    assert result.fills[0].commission == 0.25                   # IB's micro futures tier


def test_a_contract_in_another_currency_is_valued_in_the_base_currency():
    days = engine.sessions_between(date(2026, 3, 2), date(2026, 3, 4), "XNYS")
    frames = {"SAP": flat_bars(days, 200.0, 200.0), "EURUSD": flat_bars(days, 1.1, 1.1)}

    class Sap(AllIn):
        stock = Stock("SAP", "SMART", "EUR")

        def requirements(self, today):
            return Requirements(instruments={"SPY": self.stock})

    result = engine.run(Sap(), from_frames(frames), engine.Options(days[0], days[-1], cash=110_000.0,
                                                                    commissions=False))
    assert result.fills[0].quantity == 500          # 110,000 USD / (200 EUR x 1.1 USD per EUR)
    assert result.fills[0].value_in_base == pytest.approx(110_000.0)


def test_bars_from_the_store_where_collect_market_data_keeps_them():
    from backtest.bars import from_store
    from lib.store.memory import MemoryStore

    store = MemoryStore()
    store.add("activity", {"intent": "collect-market-data",
                           "result": {"instruments": {"SPY": {"conId": 756733, "bars": 2, "written": 2}}}})
    for day, close in (("2026-03-03", 101.0), ("2026-03-02", 100.0)):
        store.set(f"marketData/756733/daily/{day}", {"localSymbol": "SPY", "date": day, "open": close,
                                                      "high": close, "low": close, "close": close, "volume": 5.0})
    bars = from_store(store)
    assert bars.con_ids == {"SPY": 756733}
    assert list(bars.frame("SPY")["close"]) == [100.0, 101.0]
    assert str(bars.frame("SPY")["date"].iloc[0]) == "2026-03-02"
