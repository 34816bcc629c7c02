"""`dummy`: a random position in the front-month MNQ future, for exercising the trading path end to end."""
from __future__ import annotations

import random
import secrets
from datetime import date
from typing import Any

from lib.broker.instruments import Future
from lib.params import Integer, ParamsModel, absent
from strategies.base import Requirements, Signals, Strategy, StrategyInputs

WEIGHTS = (-1, 0, 1)
# Firestore keeps 64-bit integers, and the seed is stored with the run's parameters
SEED_RANGE = (-2**63, 2**63 - 1)


class DummyParams(ParamsModel):
    """Parameters of `dummy`."""

    seed: Integer = absent(ge=SEED_RANGE[0], le=SEED_RANGE[1], examples=[7],
                           description="seeds the draw of the weight, so a run is reproducible; without it a seed "
                                       "is drawn per run and reported in the signal details")


class Dummy(Strategy):
    """Front-month quarterly MNQ on CME (rolled 2 days before expiry) with a weight drawn from {-1, 0, 1}.

    Parameters (DummyParams): seed seeds random.Random so the weight is reproducible; without it an unpredictable
    seed is drawn once per instance. The seed used is reported in the signal details.
    """

    id = "dummy"
    Params = DummyParams
    instrument = Future("MNQ", "CME", "USD", expiry_scheme="quarterly", rollover_days=2)

    def complete_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return params if params.get("seed") is not None else {"seed": secrets.randbits(32)}

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
