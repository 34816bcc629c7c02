"""Market data and strategy inputs shared by the end-to-end allocation tests."""
from __future__ import annotations

import random

from strategies.dummy import WEIGHTS

MNQ_PRICE = 21000.0
SPY = 756733


def seed_for(weight: int, after: int = -1) -> int:
    """A `dummy` strategy seed whose random weight is `weight`: the first one above `after`."""
    return next(seed for seed in range(after + 1, after + 101) if random.Random(seed).choice(WEIGHTS) == weight)


def mnq_con_id(result: dict) -> int:
    """The conId of the single MNQ contract in an allocation result."""
    [con_id] = [int(c) for c, info in result["contracts"].items() if info["localSymbol"].startswith("MNQ")]
    return con_id
