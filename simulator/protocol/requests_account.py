"""Decode account requests: managed accounts, updates, positions, summaries, multi-account views, PnL."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.protocol.wire import FieldReader


@dataclass
class ReqManagedAccts:
    pass


@dataclass
class ReqAccountUpdates:
    subscribe: bool
    account: str


@dataclass
class ReqPositions:
    pass


@dataclass
class CancelPositions:
    pass


@dataclass
class ReqAccountSummary:
    req_id: int
    group: str
    tags: str


@dataclass
class CancelAccountSummary:
    req_id: int


@dataclass
class ReqPositionsMulti:
    req_id: int
    account: str
    model_code: str


@dataclass
class CancelPositionsMulti:
    req_id: int


@dataclass
class ReqAccountUpdatesMulti:
    req_id: int
    account: str
    model_code: str
    ledger_and_nlv: bool


@dataclass
class CancelAccountUpdatesMulti:
    req_id: int


@dataclass
class ReqPnL:
    req_id: int
    account: str
    model_code: str


@dataclass
class CancelPnL:
    req_id: int


@dataclass
class ReqPnLSingle:
    req_id: int
    account: str
    model_code: str
    con_id: int


@dataclass
class CancelPnLSingle:
    req_id: int


def parse_req_account_updates(r: FieldReader, sv: int) -> ReqAccountUpdates:
    r.int("version")
    subscribe = r.bool("subscribe")
    return ReqAccountUpdates(subscribe, r.str_or("", "acctCode"))
