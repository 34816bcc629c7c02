"""Strategies by id: each turns market data into target weights or quantities.

`REGISTRY` holds every strategy found in this package's modules and in installed packages' entry points
(strategies.registry). `StrategyId` and `StrategyParams` are the request types built from it: an id must name a
registered strategy, and each strategy's parameters are checked by its own model.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, WithJsonSchema, create_model

from lib.errors import BadRequest
from lib.params import ParamsModel, absent, invalid
from strategies.base import Strategy
from strategies.registry import discover

REGISTRY: dict[str, type[Strategy]] = discover()


def _unknown(strategy_id: Any) -> str:
    return f"unknown strategy {strategy_id!r} (known: {', '.join(sorted(REGISTRY))})"


def get_strategy(strategy_id: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """A new instance of strategy `strategy_id` with validated `params`.

    Raises:
        BadRequest: the id is unknown (the message lists the known ones) or the params are invalid.
    """
    cls = REGISTRY.get(strategy_id) if isinstance(strategy_id, str) else None
    if cls is None:
        raise BadRequest(_unknown(strategy_id))
    return cls(params)


def _registered(strategy_id: str) -> str:
    if strategy_id not in REGISTRY:
        raise invalid(_unknown(strategy_id))
    return strategy_id


# marked so docs/http-api.md's generated tables describe these types without listing the strategies
# (lib.http.doc_tables)
REGISTRY_MARK = {"x-registry": "strategies"}

StrategyId = Annotated[str, AfterValidator(_registered),
                       WithJsonSchema({"type": "string", "enum": list(REGISTRY), **REGISTRY_MARK})]


def _marked(schema: dict, model: type) -> None:
    ParamsModel.model_config["json_schema_extra"](schema, model)
    schema.update(REGISTRY_MARK)


class _ByStrategy(ParamsModel):
    model_config = ConfigDict(json_schema_extra=_marked)


StrategyParams = create_model(
    "StrategyParams", __base__=_ByStrategy,
    __doc__="Parameters by strategy id, each checked by that strategy's own model; only strategies that run.",
    **{re.sub(r"\W", "_", strategy_id): (cls.Params, absent(alias=strategy_id,
                                                           description=f"parameters of `{strategy_id}`"))
       for strategy_id, cls in REGISTRY.items()})
