"""`dummy`: a random position in the front-month MNQ future, for exercising the trading path end to end."""
from __future__ import annotations

import random
import re
import secrets
from datetime import date
from typing import Any

from lib.broker.instruments import Future
from lib.errors import BadRequest
from strategies.base import Requirements, Signals, Strategy, StrategyInputs

WEIGHTS = (-1, 0, 1)


class Dummy(Strategy):
    """Front-month quarterly MNQ on CME (rolled 2 days before expiry) with a weight drawn from {-1, 0, 1}.

    Parameters:
        seed (optional int, or its decimal text from a query string): seeds random.Random so the weight is
            reproducible; without it an unpredictable seed is drawn once per instance. The seed used is reported
            in the signal details.
    """

    id = "dummy"
    accepted_params = frozenset({"seed"})
    instrument = Future("MNQ", "CME", "USD", expiry_scheme="quarterly", rollover_days=2)

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        seed = params.get("seed")
        if seed is None:
            return {"seed": secrets.randbits(32)}
        if isinstance(seed, str) and re.fullmatch(r"\s*-?\d+\s*", seed):
            seed = int(seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise BadRequest(f"parameter 'seed' must be an integer, got {seed!r}")
        return {"seed": seed}

    @property
    def seed(self) -> int:
        return self.params["seed"]

    def requirements(self, today: date) -> Requirements:
        return Requirements(instruments={"MNQ": self.instrument})

    def signals(self, inputs: StrategyInputs) -> Signals:
        contract = inputs.contract("MNQ")
        weight = random.Random(self.seed).choice(WEIGHTS)
        return Signals.target({contract.con_id: weight}, seed=self.seed, weight=weight,
                              contract=contract.local_symbol)
