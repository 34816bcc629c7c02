"""Strategy port: the data a strategy needs, and the pure step from that data to target weights."""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import pandas as pd

from pydantic import ValidationError

from lib.broker.instruments import BAR_COLUMNS, HistoryRequest, Instrument
from lib.broker.parsing import ContractInfo
from lib.errors import ServiceError
from lib.params import ParamsModel, bad_request

__all__ = ["HistoryRequest", "Requirements", "Signals", "Strategy", "StrategyError", "StrategyInputs"]


class StrategyError(ServiceError):
    """A strategy cannot decide (e.g. too little market data); allocation reports it and runs the others."""


@dataclass(frozen=True)
class Requirements:
    """What to fetch before `signals`: instruments to resolve (name -> Instrument) and histories (name -> request).

    Raises ValueError when a history names an instrument that is not listed.
    """

    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    histories: Mapping[str, HistoryRequest] = field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted({h.instrument for h in self.histories.values()} - set(self.instruments))
        if unknown:
            raise ValueError(f"histories name unlisted instruments: {', '.join(unknown)}")


@dataclass(frozen=True)
class StrategyInputs:
    """Everything `signals` may look at.

    Attributes:
        contracts: instrument name -> its resolved contract.
        bars: history name -> DataFrame with columns date, open, high, low, close, volume, oldest first.
        holdings: this strategy's current holdings {conId: quantity} from the ledger.
    """

    contracts: Mapping[str, ContractInfo] = field(default_factory=dict)
    bars: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    holdings: Mapping[int, int] = field(default_factory=dict)

    def contract(self, name: str) -> ContractInfo:
        """Raises StrategyError when the instrument was not resolved."""
        try:
            return self.contracts[name]
        except KeyError:
            raise StrategyError(f"no contract for instrument {name!r}") from None

    def closes(self, name: str) -> pd.Series:
        """The close column of history `name`.

        Raises:
            StrategyError: the history is missing, lacks a close column, or holds a non-finite close.
        """
        frame = self.bars.get(name)
        if frame is None or "close" not in frame:
            raise StrategyError(f"no {name} bars (expected columns {', '.join(BAR_COLUMNS)})")
        closes = frame["close"].astype(float).reset_index(drop=True)
        if not all(math.isfinite(value) for value in closes):
            raise StrategyError(f"{name} bars contain a missing or non-finite close")
        return closes


@dataclass(frozen=True)
class Signals:
    """A strategy's decision.

    Attributes:
        weights: {conId: signed weight} to hold, or None with `hold`.
        hold: keep the current holdings: no trades for this strategy.
        details: what the decision was based on, for the activity log (JSON-serialisable).
    """

    weights: Mapping[int, float] | None
    hold: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.hold != (self.weights is None):
            raise ValueError("Signals needs weights, or hold=True without weights")

    @classmethod
    def target(cls, weights: Mapping[int, float], **details) -> Signals:
        return cls(dict(weights), False, details)

    @classmethod
    def keep(cls, **details) -> Signals:
        return cls(None, True, details)


class NoParams(ParamsModel):
    """This strategy takes no parameters."""


class Strategy(ABC):
    """Turns market data into target weights without doing any I/O.

    Life of one run: `Strategy(params)` validates the request parameters; the caller fetches what
    `requirements(today)` lists, builds StrategyInputs, and calls `signals(inputs)`.

    Subclasses set `id` and `Params` (their parameter model, which allocation's request model and the OpenAPI
    document embed), and may extend `complete_params`.
    """

    id: ClassVar[str]
    Params: ClassVar[type[ParamsModel]] = NoParams

    def __init__(self, params: Mapping[str, Any] | None = None):
        """Raises BadRequest for unknown or invalid parameters."""
        try:
            given = self.Params.model_validate(dict(params or {}))
        except ValidationError as exc:
            raise bad_request(exc, f"strategy {self.id!r}") from None
        self.params = self.complete_params(given.model_dump(mode="json"))

    def complete_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The validated parameters with what the request may leave open filled in; the default keeps them."""
        return params

    @abstractmethod
    def requirements(self, today: date) -> Requirements:
        """The instruments and histories `signals` needs on `today`."""

    @abstractmethod
    def signals(self, inputs: StrategyInputs) -> Signals:
        """Target weights from the inputs (pure). Raises StrategyError when the inputs cannot support a decision."""

    def contract_ids(self, inputs: StrategyInputs) -> list[int]:
        """Every conId this strategy touches: its resolved contracts and its non-zero holdings, sorted."""
        held = {con_id for con_id, quantity in inputs.holdings.items() if quantity}
        return sorted({info.con_id for info in inputs.contracts.values()} | held)
