"""`allocation`'s parameter model: the strategies to run, their parameters, and how the orders are placed."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from intents.base import DryRun, OrderParams, Seconds
from lib.errors import BadRequest
from lib.params import CommaList, Flag, ParamsModel, absent, invalid, json_text
from lib.trading.limit_prices import MAX_OFFSET_PERCENT
from lib.trading.order_time import to_ib_utc
from strategies import StrategyId, StrategyParams


def _ib_time(text: str, info: ValidationInfo) -> str:
    """Checks the time can be turned into IB's form; the text is kept, and turned into IB's UTC form when the
    orders are placed ("today" is the day of placing)."""
    now = (info.context or {}).get("now") or datetime.now(timezone.utc)
    try:
        to_ib_utc(text, now)
    except BadRequest as exc:
        raise invalid(str(exc)) from None
    return text


class OrderProperties(ParamsModel):
    """How the orders are placed; every member may be left out."""

    good_after_time: Annotated[str, AfterValidator(_ib_time)] = absent(
        examples=["today 15:55 America/New_York"],
        description='the orders wait until then: "today 15:55 America/New_York", "tomorrow 09:35 Europe/London", '
                    '"2026-11-24 15:55 UTC" or IB\'s UTC form "20261124-20:55:00"')
    outside_rth: Flag = absent(description="let the orders fill outside regular trading hours")
    limit_offset_percent: Annotated[float, Field(allow_inf_nan=False)] = absent(
        ge=-MAX_OFFSET_PERCENT, le=MAX_OFFSET_PERCENT, examples=[0.5],
        description="Adaptive limit orders instead of market orders, priced this percentage away from the price used "
                    "for sizing and rounded to the contract's tick: positive is marketable, negative rests")


def _distinct(strategy_ids: list[str]) -> list[str]:
    if not strategy_ids:
        raise invalid("must name at least one strategy")
    if len(set(strategy_ids)) != len(strategy_ids):
        raise invalid(f"names a strategy twice: {strategy_ids}")
    return strategy_ids


class AllocationParams(OrderParams):
    strategies: Annotated[list[StrategyId], CommaList, AfterValidator(_distinct)] = Field(
        json_schema_extra={"minItems": 1, "uniqueItems": True}, examples=[["dummy", "spymacdvixy"]],
        description="the strategies to run, each at most once")
    dry_run: DryRun = False
    order_properties: Annotated[OrderProperties, BeforeValidator(json_text)] = Field(
        default_factory=OrderProperties, description="how the orders are placed")
    strategy_params: Annotated[StrategyParams, BeforeValidator(json_text)] = Field(
        default_factory=StrategyParams, examples=[{"dummy": {"seed": 7}}],
        description="parameters by strategy id, for strategies that run")
    timeout_seconds: Seconds = 120.0

    @model_validator(mode="after")
    def _params_of_strategies_that_run(self) -> AllocationParams:
        stray = sorted(set(self.strategy_params.model_dump()) - set(self.strategies))
        if stray:
            raise invalid(f"strategyParams names strategies that are not run: {', '.join(stray)}")
        return self
