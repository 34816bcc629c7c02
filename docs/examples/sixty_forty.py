"""`sixtyforty`: 60% SPY and 40% TLT, rebalanced on the first session of each month."""
from __future__ import annotations

from datetime import date

from lib.broker.instruments import Stock
from strategies.base import Requirements, Signals, Strategy, StrategyInputs
from strategies.schedule import first_session_of_month


class SixtyForty(Strategy):
    """60/40 SPY/TLT by weight; between rebalances (and after the first one) it keeps what it holds."""

    id = "sixtyforty"
    spy = Stock("SPY", "SMART", "USD", primary_exchange="ARCA")
    tlt = Stock("TLT", "SMART", "USD", primary_exchange="NASDAQ")

    def requirements(self, today: date) -> Requirements:
        return Requirements(instruments={"SPY": self.spy, "TLT": self.tlt})

    def signals(self, inputs: StrategyInputs) -> Signals:
        spy, tlt = inputs.contract("SPY"), inputs.contract("TLT")
        invested = inputs.held("SPY") or inputs.held("TLT")
        if invested and not first_session_of_month(inputs.today):
            return Signals.keep(reason="not the first session of the month")
        return Signals.target({spy.con_id: 0.6, tlt.con_id: 0.4})
