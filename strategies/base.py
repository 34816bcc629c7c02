"""Strategy port: the data a strategy needs, and the pure step from that data to target weights or quantities."""
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
        today: the trading date the decision is for (New York's day of the gateway's clock live; the session
            being replayed in a backtest).
    """

    contracts: Mapping[str, ContractInfo] = field(default_factory=dict)
    bars: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    holdings: Mapping[int, int] = field(default_factory=dict)
    today: date | None = None

    def held(self, name: str) -> int:
        """The quantity this strategy holds of instrument `name`'s contract (0 when none).

        Raises StrategyError when the instrument was not resolved.
        """
        return int(self.holdings.get(self.contract(name).con_id, 0))

    def contract(self, name: str) -> ContractInfo:
        """Raises StrategyError when the instrument was not resolved."""
        try:
            return self.contracts[name]
        except KeyError:
            raise StrategyError(f"no contract for instrument {name!r}") from None

    def closes(self, name: str, sessions: int | None = None) -> pd.Series:
        """The close column of history `name`, only its last `sessions` bars when given.

        Raises:
            StrategyError: the history is missing, lacks a close column, holds a non-finite close, or has fewer
                than `sessions` bars.
        """
        frame = self.bars.get(name)
        if frame is None or "close" not in frame:
            raise StrategyError(f"no {name} bars (expected columns {', '.join(BAR_COLUMNS)})")
        if sessions is not None:
            if len(frame) < sessions:
                raise StrategyError(f"{name} needs {sessions} daily bars, got {len(frame)}")
            frame = frame.iloc[len(frame) - sessions:]
        closes = frame["close"].astype(float).reset_index(drop=True)
        if not all(math.isfinite(value) for value in closes):
            raise StrategyError(f"{name} bars contain a missing or non-finite close")
        return closes


@dataclass(frozen=True)
class Signals:
    """A strategy's decision: weights, quantities, or hold.

    Attributes:
        weights: {conId: signed weight} to hold, sized against the strategy's exposure; None otherwise.
        hold: keep the current holdings: no trades for this strategy.
        details: what the decision was based on, for the activity log (JSON-serialisable).
        quantities: {conId: signed contracts or shares} to hold whatever the account is worth; None otherwise.
    """

    weights: Mapping[int, float] | None
    hold: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    quantities: Mapping[int, int] | None = None

    def __post_init__(self):
        if [self.weights is not None, self.quantities is not None, self.hold].count(True) != 1:
            raise ValueError("Signals needs weights, quantities, or hold=True, exactly one of them")
        for con_id, quantity in (self.quantities or {}).items():
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                raise ValueError(f"the quantity for conId {con_id} must be a whole number, got {quantity!r}")

    @property
    def con_ids(self) -> list[int]:
        """The conIds the weights or quantities name, sorted (none when holding)."""
        return sorted({*(self.weights or {}), *(self.quantities or {})})

    @classmethod
    def target(cls, weights: Mapping[int, float], **details) -> Signals:
        """Hold `weights` x the strategy's exposure in each contract."""
        return cls(dict(weights), False, details)

    @classmethod
    def target_quantities(cls, quantities: Mapping[int, int], **details) -> Signals:
        """Hold exactly `quantities` (contracts or shares, signed), however large the account."""
        return cls(None, False, details, dict(quantities))

    @classmethod
    def keep(cls, **details) -> Signals:
        """Trade nothing: keep the current holdings."""
        return cls(None, True, details)


class NoParams(ParamsModel):
    """This strategy takes no parameters."""


class Strategy(ABC):
    """Turns market data into target weights without doing any I/O.

    Life of one run: `Strategy(params)` validates the request parameters; the caller fetches what
    `requirements(today)` lists, builds StrategyInputs (with the trading date and this strategy's holdings), and
    calls `signals(inputs)`. A backtest makes the same calls for every session it replays, so the strategy must
    decide from its inputs alone (no clock, no I/O).

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
        """Target weights or quantities from the inputs (pure). Raises StrategyError when the inputs cannot support a
        decision."""

    def contract_ids(self, inputs: StrategyInputs) -> list[int]:
        """Every conId this strategy touches: its resolved contracts and its non-zero holdings, sorted."""
        held = {con_id for con_id, quantity in inputs.holdings.items() if quantity}
        return sorted({info.con_id for info in inputs.contracts.values()} | held)
