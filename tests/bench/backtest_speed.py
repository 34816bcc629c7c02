"""Benchmark: ten years of daily bars for ten instruments, an equal-weight monthly rebalance, replayed by the
backtest and by `bt` on the same bars in the same run; prints both times, the target (under 2 s) and their ratio.
Run with `make bench`."""
from __future__ import annotations

import time
from datetime import date

import bt
import pandas as pd

from backtest import engine
from backtest.bars import from_frames
from lib.broker.instruments import Stock
from strategies.base import Requirements, Signals, Strategy, StrategyInputs
from strategies.schedule import first_session_of_month, sessions
from tests.support.bars import random_walks

SYMBOLS = ("SPY", "TLT", "QQQ", "IWM", "IEF", "GLD", "EFA", "VTI", "AAPL", "MSFT")
START, END = date(2016, 1, 4), date(2025, 12, 31)
TARGET_S = 2.0


class EqualWeight(Strategy):
    """Each of the ten stocks at a tenth of the exposure, rebalanced on the first session of each month."""

    id = "equalweight"

    def requirements(self, today: date) -> Requirements:
        return Requirements(instruments={symbol: Stock(symbol) for symbol in SYMBOLS})

    def signals(self, inputs: StrategyInputs) -> Signals:
        if inputs.holdings and not first_session_of_month(inputs.today):
            return Signals.keep()
        return Signals.target({inputs.contract(symbol).con_id: 1 / len(SYMBOLS) for symbol in SYMBOLS})


def main() -> None:
    started = time.perf_counter()
    sessions("XNYS")
    calendar_s = time.perf_counter() - started
    frames = random_walks({symbol: 50.0 + 20 * i for i, symbol in enumerate(SYMBOLS)}, START, END)
    bars = from_frames(frames)

    started = time.perf_counter()
    ours = engine.run(EqualWeight(), bars, engine.Options(START, END, fill_at="close", commissions=False))
    ours_s = time.perf_counter() - started

    closes = pd.DataFrame({symbol: frame.set_index(pd.DatetimeIndex(frame["date"]))["close"]
                           for symbol, frame in frames.items()})
    algos = [bt.algos.RunMonthly(), bt.algos.SelectAll(), bt.algos.WeighEqually(), bt.algos.Rebalance()]
    started = time.perf_counter()
    theirs = bt.run(bt.Backtest(bt.Strategy("equalweight", algos), closes, initial_capital=1_000_000.0))
    bt_s = time.perf_counter() - started
    final_bt = theirs.backtests["equalweight"].strategy.values.iloc[-1]

    print(f"backtest: {len(SYMBOLS)} instruments x {len(ours.equity)} sessions ({START} to {END}), equal weight "
          f"rebalanced monthly, {len(ours.fills)} fills")
    print(f"  this backtest   {ours_s:6.3f} s   (target < {TARGET_S:g} s: {'met' if ours_s < TARGET_S else 'MISSED'};"
          f" the exchange calendar's one-off load, {calendar_s:.3f} s, before it)")
    print(f"  bt 1.4.1        {bt_s:6.3f} s")
    print(f"  ratio           {ours_s / bt_s:6.2f}   (this backtest's time / bt's)")
    print(f"  final equity    {ours.equity.iloc[-1]:,.0f} against bt's {final_bt:,.0f}")


if __name__ == "__main__":
    main()
