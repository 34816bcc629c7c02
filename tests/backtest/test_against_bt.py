"""The backtest agrees with `bt` (PyPI bt 1.4.1, an independent backtester): the docs' 60/40 SPY/TLT monthly
rebalance on the same ten years of daily bars, commissions off, fills at the deciding close as bt fills."""
from __future__ import annotations

from datetime import date

import bt
import pandas as pd

from backtest import engine
from backtest.bars import from_frames
from tests.support.bars import example_strategy, random_walks

START, END = date(2015, 1, 2), date(2024, 12, 31)
CASH = 1_000_000.0


def month_ends(values: pd.Series) -> pd.Series:
    return values.groupby(values.index.to_period("M")).last()


def test_sixty_forty_monthly_matches_bt_within_half_a_percent_at_every_month_end():
    frames = random_walks({"SPY": 200.0, "TLT": 120.0}, START, END)
    strategy = example_strategy("sixty_forty", "SixtyForty")()
    ours = engine.run(strategy, from_frames(frames),
                      engine.Options(START, END, cash=CASH, fill_at="close", commissions=False))

    closes = pd.DataFrame({symbol: frame.set_index(pd.DatetimeIndex(frame["date"]))["close"]
                           for symbol, frame in frames.items()})
    algos = [bt.algos.RunMonthly(), bt.algos.SelectAll(), bt.algos.WeighSpecified(SPY=0.6, TLT=0.4),
             bt.algos.Rebalance()]
    theirs = bt.run(bt.Backtest(bt.Strategy("sixtyforty", algos), closes, initial_capital=CASH))
    bt_values = theirs.backtests["sixtyforty"].strategy.values

    joined = pd.concat([month_ends(ours.equity), month_ends(bt_values)], axis=1, keys=["ours", "bt"]).dropna()
    assert len(joined) == 120
    deviation = (joined["ours"] / joined["bt"] - 1).abs()
    assert deviation.max() < 0.005, deviation.idxmax()
    rebalance_months = {fill.day.strftime("%Y-%m") for fill in ours.fills}
    assert len(rebalance_months) == 120          # it traded every month, as bt's RunMonthly does
    assert ours.equity.iloc[-1] != CASH
