"""The backtest and a live dry-run allocation decide alike: on the simulator pinned to given daily bars (frozen
clock, POST /history), `allocation` plans targets; the backtest, replaying the same bars for the same session with
the same NetLiquidation and config, sizes the same targets."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from backtest import engine
from backtest.bars import from_frames
from backtest.universe import Universe
from lib.config import TradingConfig
from strategies import get_strategy
from tests.support.clock import NOW
from tests.support.macd_series import crossover_closes

VIXY_CLOSES = [round(18.0 + 0.05 * i, 2) for i in range(100)]


def daily(closes: list[float], today: date) -> pd.DataFrame:
    days = engine.sessions_between(date(today.year - 1, 1, 1), today, "XNYS")[-len(closes):]
    return pd.DataFrame({"date": days, "open": closes, "high": closes, "low": closes, "close": closes,
                         "volume": 1.0})


@pytest.mark.parametrize("direction", ["bullish", "bearish"])
def test_backtest_targets_equal_the_dry_run_allocation_on_the_same_bars(trading, direction):
    t = trading()
    spy_closes = crossover_closes(direction)
    spy = t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": spy_closes})
    vixy = t.simulator.admin("POST", "/history", {"symbol": "VIXY", "closes": VIXY_CLOSES})
    live = t.allocate(strategies=["spymacdvixy"], dryRun=True)
    plan = live["strategies"]["spymacdvixy"]
    assert live["errors"] == {} and plan["signals"]["details"]["crossover"] == direction
    con_ids = {info["localSymbol"]: int(con_id) for con_id, info in live["contracts"].items()}
    # the prices the service sized with are the pinned last closes the backtest sizes with
    assert live["prices"][str(con_ids["SPY"])] == pytest.approx(spy["price"]) == pytest.approx(spy_closes[-1])
    assert live["prices"][str(con_ids["VIXY"])] == pytest.approx(vixy["price"]) == pytest.approx(VIXY_CLOSES[-1])

    today = NOW.date()
    bars = from_frames({"SPY": daily(spy_closes, today), "VIXY": daily(VIXY_CLOSES, today)})
    options = engine.Options(today, today, cash=live["netLiquidation"]["value"],
                             config=TradingConfig.load(t.store, "paper"))
    replayed = engine.run(get_strategy("spymacdvixy", {}), bars, options, universe=Universe(con_ids))
    [decision] = replayed.decisions
    assert decision.error is None
    assert {str(con_id): quantity for con_id, quantity in decision.targets.items()} == plan["targetPositions"]
    assert any(plan["targetPositions"].values())
