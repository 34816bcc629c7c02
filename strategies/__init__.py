"""Strategies by id: each turns market data into target weights."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.errors import BadRequest
from strategies.base import Strategy
from strategies.dummy import Dummy
from strategies.spymacdvixy import SpyMacdVixy

REGISTRY: dict[str, type[Strategy]] = {"dummy": Dummy, "spymacdvixy": SpyMacdVixy}


def get_strategy(strategy_id: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """A new instance of strategy `strategy_id` with validated `params`.

    Raises:
        BadRequest: the id is unknown (the message lists the known ones) or the params are invalid.
    """
    cls = REGISTRY.get(strategy_id) if isinstance(strategy_id, str) else None
    if cls is None:
        raise BadRequest(f"unknown strategy {strategy_id!r} (known: {', '.join(sorted(REGISTRY))})")
    return cls(params)
