"""`trendmnq`: hold 1 MNQ contract while SPY's 50-session average is above its 200-session average, else none."""
from __future__ import annotations

from datetime import date

from lib.broker.instruments import Future, Stock
from strategies.base import Requirements, Signals, Strategy, StrategyInputs
from strategies.schedule import history

FAST, SLOW = 50, 200


class TrendMnq(Strategy):
    """A quantity target: 1 contract whatever the account is worth; the front quarterly MNQ, rolled 2 days early."""

    id = "trendmnq"
    spy = Stock("SPY", "SMART", "USD", primary_exchange="ARCA")
    mnq = Future("MNQ", "CME", "USD", expiry_scheme="quarterly", rollover_days=2)

    def requirements(self, today: date) -> Requirements:
        return Requirements(instruments={"SPY": self.spy, "MNQ": self.mnq}, histories={"SPY": history("SPY", SLOW)})

    def signals(self, inputs: StrategyInputs) -> Signals:
        closes = inputs.closes("SPY", SLOW)
        fast, slow = closes.iloc[-FAST:].mean(), closes.mean()
        contracts = 1 if fast > slow else 0
        return Signals.target_quantities({inputs.contract("MNQ").con_id: contracts}, fast=fast, slow=slow)
