"""`spymacdvixy`: trade SPY on a daily MACD crossover, hedging bearish turns with VIXY."""
from __future__ import annotations

from datetime import date

from lib.broker.instruments import Stock
from strategies.base import Requirements, Signals, Strategy, StrategyError, StrategyInputs
from strategies.macd import FAST_SPAN, SIGNAL_SPAN, SLOW_SPAN, crossover, macd
from strategies.schedule import history

HISTORY_BARS = 100
# The slow EMA and the signal EMA need to warm up, plus one bar to compare with.
MIN_BARS = SLOW_SPAN + SIGNAL_SPAN + 1


class SpyMacdVixy(Strategy):
    """MACD(12, 26, 9) of 100 daily SPY closes, acting only on a crossover on the last bar.

    Bullish crossover: SPY +1, VIXY 0. Bearish: SPY -1, VIXY +1. No crossover: keep the current holdings.
    Fewer than MIN_BARS bars: StrategyError.
    """

    id = "spymacdvixy"
    spy = Stock("SPY", "SMART", "USD", primary_exchange="ARCA")
    vixy = Stock("VIXY", "SMART", "USD", primary_exchange="BATS")

    def requirements(self, today: date) -> Requirements:
        return Requirements(instruments={"SPY": self.spy, "VIXY": self.vixy},
                            histories={"SPY": history("SPY", HISTORY_BARS)})

    def signals(self, inputs: StrategyInputs) -> Signals:
        spy, vixy = inputs.contract("SPY"), inputs.contract("VIXY")
        closes = inputs.closes("SPY")
        if len(closes) < MIN_BARS:
            raise StrategyError(f"spymacdvixy needs at least {MIN_BARS} daily SPY bars for MACD({FAST_SPAN}, "
                                f"{SLOW_SPAN}, {SIGNAL_SPAN}), got {len(closes)}")
        indicator = macd(closes).iloc[-2:]
        direction = crossover(indicator["histogram"])
        details = {
            "bars": len(closes),
            "lastBarDate": str(inputs.bars["SPY"]["date"].iloc[-1]) if "date" in inputs.bars["SPY"] else None,
            "macd": [float(v) for v in indicator["macd"]],
            "signal": [float(v) for v in indicator["signal"]],
            "histogram": [float(v) for v in indicator["histogram"]],
            "crossover": direction,
        }
        if direction == "bullish":
            return Signals.target({spy.con_id: 1.0, vixy.con_id: 0.0}, **details)
        if direction == "bearish":
            return Signals.target({spy.con_id: -1.0, vixy.con_id: 1.0}, **details)
        return Signals.keep(reason="no MACD crossover on the last bar", **details)
