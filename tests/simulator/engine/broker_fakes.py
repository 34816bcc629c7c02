"""A small controllable market and clock for the broker's unit tests, plus an event recorder."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulator.engine.broker import Broker, OrderRequest
from tests.support.clock import NOW

ACCOUNT = "DU1234567"


@dataclass(frozen=True)
class FakeQuote:
    bid: float
    ask: float
    last: float


@dataclass(frozen=True)
class FakeSpec:
    """The ContractSpec fields the broker reads."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    multiplier: float
    min_tick: float
    last_trade_date: str = ""
    time_zone_id: str = "US/Eastern"


SPY = FakeSpec(756733, "SPY", "STK", "SMART", "ARCA", "USD", "SPY", "SPY", 1.0, 0.01)
QQQ = FakeSpec(320227571, "QQQ", "STK", "SMART", "NASDAQ", "USD", "QQQ", "QQQ", 1.0, 0.01)
PENNY = FakeSpec(1001, "PNY", "STK", "SMART", "NASDAQ", "USD", "PNY", "PNY", 1.0, 0.0001)
MNQ = FakeSpec(730283085, "MNQ", "FUT", "CME", "", "USD", "MNQZ6", "MNQ", 2.0, 0.25, "20261218", "US/Central")
EURUSD = FakeSpec(12087792, "EUR", "CASH", "IDEALPRO", "", "USD", "EUR.USD", "EUR.USD", 1.0, 0.00005)
USDJPY = FakeSpec(15016059, "USD", "CASH", "IDEALPRO", "", "JPY", "USD.JPY", "USD.JPY", 1.0, 0.005)
VIX = FakeSpec(13455763, "VIX", "IND", "CBOE", "", "USD", "VIX", "VIX", 1.0, 0.01)
SPECS = {spec.con_id: spec for spec in (SPY, QQQ, PENNY, MNQ, EURUSD, USDJPY, VIX)}


class FakeClock:
    def __init__(self, start: datetime = NOW):
        self._now = start

    def now(self) -> datetime:
        return self._now

    def step(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class FakeCatalog:
    def by_con_id(self, con_id: int):
        return SPECS.get(con_id)


class FakeMarket:
    """Prices set by the test; spread of `half_spread` either side; forex pairs from per-currency USD values."""

    def __init__(self, half_spread: float = 0.01):
        self.half_spread = half_spread
        self.prices = {SPY.con_id: 600.0, QQQ.con_id: 520.0, PENNY.con_id: 2.0, MNQ.con_id: 21000.0,
                       VIX.con_id: 16.0}
        self.usd_values = {"USD": 1.0, "EUR": 1.08, "JPY": 1 / 150}

    def set_price(self, con_id: int, price: float) -> None:
        self.prices[con_id] = price

    def price(self, con_id: int) -> float:
        spec = SPECS[con_id]
        if spec.sec_type == "CASH":
            return self.fx_rate(spec.symbol, spec.currency)
        return self.prices[con_id]

    def quote(self, con_id: int) -> FakeQuote:
        price = self.price(con_id)
        half = self.half_spread * (0.0001 if SPECS[con_id].sec_type == "CASH" else 1.0)
        return FakeQuote(bid=price - half, ask=price + half, last=price)

    def fx_rate(self, currency: str, base: str) -> float:
        return self.usd_values[currency] / self.usd_values[base]


class Recorder:
    """Listener keeping every broker event, with order records copied as they were when emitted."""

    def __init__(self):
        self.events = []

    def __call__(self, event) -> None:
        if hasattr(event, "order"):
            event = dataclasses.replace(event, order=copy.copy(event.order))
        self.events.append(event)

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def clear(self) -> None:
        self.events.clear()


def make_broker(*, cash: float = 1_000_000.0, base_currency: str = "USD", market=None, clock=None,
                recorder: Recorder | None = None) -> Broker:
    return Broker(account=ACCOUNT, base_currency=base_currency, cash=cash, market=market or FakeMarket(),
                  catalog=FakeCatalog(), clock=clock or FakeClock(),
                  listeners=[recorder] if recorder is not None else None)


def mkt(action: str, quantity: float, **fields) -> OrderRequest:
    return OrderRequest(action=action, total_quantity=quantity, order_type="MKT", lmt_price=None, **fields)


def lmt(action: str, quantity: float, price: float, **fields) -> OrderRequest:
    return OrderRequest(action=action, total_quantity=quantity, order_type="LMT", lmt_price=price, **fields)


def values_by_key(broker: Broker) -> dict[tuple[str, str], str]:
    return {(tag, currency): value for tag, value, currency in broker.account_values()}


def drain(broker: Broker, max_calls: int = 50) -> int:
    """Call match() until no fill happens any more; returns the number of calls that made progress."""
    progress = 0
    for _ in range(max_calls):
        before = len(broker.executions())
        broker.match()
        if len(broker.executions()) == before:
            return progress
        progress += 1
    raise AssertionError("match() kept filling")
