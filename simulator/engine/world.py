"""The engine objects of one paper account, built together: clock, catalog, market and broker."""

from __future__ import annotations

from datetime import datetime

from simulator.engine.broker import Broker
from simulator.engine.catalog import Catalog
from simulator.engine.clock import Clock
from simulator.engine.faults import Faults
from simulator.engine.market import Market
from simulator.engine.option_contracts import OptionContracts


class World:
    """One paper account's simulated world.

    Parameters:
        seed: seed of the deterministic price paths.
        account, base_currency, cash: the paper account.
        now: start of a frozen clock (None = real time).
        clock_running: let the clock run in real time from `now` instead of freezing it there.

    `faults` holds the faults armed on demand; it outlives a restored broker, which takes it over.
    `broker` is replaced when a saved state is restored (its listeners carry over); read it from here each time.
    """

    def __init__(self, *, seed: int, account: str, base_currency: str, cash: float, now: datetime | None,
                 clock_running: bool = False):
        self.account = account
        self.base_currency = base_currency
        self.clock = Clock(now, running=clock_running)
        self.catalog = Catalog(self.clock.now().date())
        self.market = Market(seed, self.catalog, self.clock)
        self.catalog.derived = OptionContracts(self.catalog, self.market.price)
        self.faults = Faults()
        self.broker = Broker(account=account, base_currency=base_currency, cash=cash, market=self.market,
                             catalog=self.catalog, clock=self.clock, faults=self.faults)

    def to_state(self) -> dict:
        """The clock (its offset and the time it showed), market overrides and broker state, as JSON-able values."""
        return {"clock_offset_s": self.clock.offset_s, "clock_now": self.clock.now().isoformat(),
                "market": self.market.to_state(), "broker": self.broker.to_state()}

    def restore(self, state: dict) -> None:
        """Continue from `to_state()` output. The clock keeps the saved steps and never shows a time before the
        one saved (a clock started from the last session must not run back behind the executions it made)."""
        step_s = float(state.get("clock_offset_s", 0.0)) - self.clock.offset_s
        if state.get("clock_now"):
            behind = datetime.fromisoformat(state["clock_now"]) - self.clock.now()
            step_s = max(step_s, behind.total_seconds())
        if step_s > 0:
            self.clock.step(step_s)
        self.market.load_state(state["market"])
        self.broker = Broker.from_state(state["broker"], market=self.market, catalog=self.catalog,
                                        clock=self.clock, listeners=self.broker.listeners, faults=self.faults)
