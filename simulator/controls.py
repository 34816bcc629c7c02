"""The control methods behind the admin API and SimulatorThread.call: prices, clock, fills, latency, snapshot."""

from __future__ import annotations

import dataclasses
import enum
import math
from datetime import date, datetime

from simulator.engine.orders import OrderRequest
from simulator.engine.world import World
from simulator.gateway.handlers_account import take_snapshot
from simulator.gateway.runtime import Gateway


def to_jsonable(value):
    """Dataclasses, datetimes and containers as plain JSON values (ContractSpecs shortened)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "con_id") and hasattr(value, "trading_hours"):
            return {"con_id": value.con_id, "symbol": value.symbol, "sec_type": value.sec_type,
                    "local_symbol": value.local_symbol, "exchange": value.exchange,
                    "currency": value.currency}
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return None
    return value


class Controls:
    """What tests and demos may do to a running simulator, and what they may read of it.

    Parameters:
        world: the engine objects.
        gateway: the running Gateway (sessions, latency, refreshes after a change).
        seed, fill_delay_ms, state_path: settings reported by snapshot().

    Methods run on the loop and return small JSON-able dicts; they raise KeyError/ValueError with a clear text
    on bad input.
    """

    def __init__(self, world: World, gateway: Gateway, *, seed: int, fill_delay_ms: float, state_path: str | None):
        self._world = world
        self._gateway = gateway
        self._seed = seed
        self._fill_delay_ms = fill_delay_ms
        self._state_path = state_path

    def _spec(self, symbol: str | int):
        if isinstance(symbol, str) and symbol.strip().isdigit():
            symbol = int(symbol.strip())
        return self._world.catalog.resolve_symbol(symbol)

    def _price_report(self, spec) -> dict:
        return {"symbol": spec.local_symbol, "con_id": spec.con_id, "price": self._world.market.price(spec.con_id)}

    def set_price(self, symbol: str | int, price: float) -> dict:
        price = float(price)
        if not price > 0:
            raise ValueError(f"price must be positive, got {price}")
        spec = self._spec(symbol)
        self._world.market.set_price(spec.con_id, price)
        self._gateway.after_market_change()
        return self._price_report(spec)

    def move_price(self, symbol: str | int, pct: float) -> dict:
        pct = float(pct)
        if not pct > -100:
            raise ValueError(f"pct must be above -100, got {pct}")
        spec = self._spec(symbol)
        self._world.market.move_price(spec.con_id, pct)
        self._gateway.after_market_change()
        return self._price_report(spec)

    def pin_history(self, symbol: str | int, closes: list[float]) -> dict:
        values = [float(c) for c in closes]
        if not values or any(not c > 0 for c in values):
            raise ValueError("closes must be a non-empty list of positive prices")
        spec = self._spec(symbol)
        self._world.market.pin_history(spec.con_id, values)
        self._gateway.after_market_change()
        return {**self._price_report(spec), "pinned": len(values)}

    def step_clock(self, seconds: float) -> dict:
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got {seconds} s")
        clock = self._world.clock
        clock.step(seconds)
        self._gateway.after_market_change()
        report = {"now": clock.now().isoformat(), "offset_s": clock.offset_s}
        if self._gateway.fill_mode == "step":
            report["matched"] = self.match()["executions"]
        return report

    def match(self, rounds: int = 1) -> dict:
        """Run `rounds` rounds of matching now (one execution per working order and round); the executions made.

        In step mode (`--fills step`, `set_fill_mode("step")`) this and step_clock are the only ways orders fill.
        """
        if isinstance(rounds, bool) or int(rounds) != rounds or not 1 <= int(rounds) <= 1000:
            raise ValueError(f"rounds must be an integer from 1 to 1000, got {rounds!r}")
        before = {e.exec_id for e in self._world.broker.executions()}
        self._gateway.match_now(int(rounds))
        made = [e for e in self._world.broker.executions() if e.exec_id not in before]
        return {"executions": [{"exec_id": e.exec_id, "perm_id": e.perm_id, "client_id": e.client_id,
                                "order_id": e.order_id, "shares": e.shares, "price": e.price} for e in made]}

    def set_fill_mode(self, mode: str) -> dict:
        """"step": orders fill only on match() and step_clock(), in an order that does not depend on how concurrent
        clients' requests interleaved (the clock freezes where it is); "auto": fills on timers again."""
        self._gateway.set_fill_mode(str(mode))
        return {"fills": self._gateway.fill_mode, "clock_frozen": self._world.clock.frozen}

    def set_partial_fills(self, pieces: int) -> dict:
        if isinstance(pieces, bool) or int(pieces) != pieces or int(pieces) < 1:
            raise ValueError(f"pieces must be an integer >= 1 (1 = off), got {pieces!r}")
        self._world.broker.partial_fill_pieces = int(pieces)
        return {"partial_fill_pieces": self._world.broker.partial_fill_pieces}

    def reject_next_order(self, code: int = 201, text: str | None = None) -> dict:
        code = int(code)
        if text is None:
            self._world.broker.reject_next(code)
        else:
            self._world.broker.reject_next(code, str(text))
        return {"reject_next": {"code": code, "text": text}}

    def set_latency(self, ms: float) -> dict:
        ms = float(ms)
        if not 0 <= ms <= 60_000:
            raise ValueError(f"latency must be between 0 and 60000 ms, got {ms}")
        self._gateway.latency_ms = ms
        return {"latency_ms": ms}

    async def drop_connections(self) -> dict:
        return {"dropped": self._gateway.drop_all()}

    # --- a person at TWS ----------------------------------------------------------------------------

    def place_manual_order(self, symbol: str | int, action: str, quantity: float, order_type: str = "MKT",
                           lmt_price: float | None = None, tif: str = "DAY", outside_rth: bool = False) -> dict:
        """Enter an order in TWS by hand (clientId 0, a negative orderId, not an API order); returns its ids."""
        spec = self._spec(symbol)
        request = OrderRequest(action=str(action), total_quantity=float(quantity), order_type=str(order_type),
                               lmt_price=None if lmt_price is None else float(lmt_price), tif=str(tif),
                               outside_rth=bool(outside_rth), extra={"exchange": spec.exchange})
        gateway = self._gateway
        record = gateway.broker_call(self._world.broker.place_manual_order, spec, request)
        gateway.schedule_match()
        return {"order_id": record.order_id, "perm_id": record.perm_id, "status": record.status}

    def cancel_order(self, perm_id: int) -> dict:
        """Cancel a working order from TWS, whoever placed it (KeyError when none has that permId)."""
        record = self._gateway.broker_call(self._world.broker.cancel_by_perm_id, int(perm_id))
        return {"perm_id": record.perm_id, "status": record.status}

    # --- faults -------------------------------------------------------------------------------------

    def arm_fault(self, kind: str, **parameters) -> dict:
        """Arm a fault of the catalogue (simulator.engine.faults.CATALOGUE); kinds that act at once start now.

        Raises:
            KeyError: an unknown kind, or a symbol the catalog does not know.
            ValueError: a parameter that is unknown, missing or out of range.
        """
        faults = self._world.faults
        if "symbol" in parameters and parameters["symbol"] is not None:
            self._spec(parameters["symbol"])
        fault = faults.arm(str(kind), **parameters)
        if fault.kind.name == "connectivity":
            self._gateway.connectivity.lose(fault.values["seconds"], fault.values["restore"])
        elif fault.kind.name == "restart" and fault.kind.immediate(fault.values):
            self._gateway.restart(fault.values["seconds"])
        return {"armed": fault.describe(faults.monotonic())}

    def list_faults(self) -> dict:
        """The catalogue of fault kinds (parameters, what IB sends) and the faults armed now."""
        return self._world.faults.listing()

    def clear_faults(self) -> dict:
        """Disarm every fault; a connectivity loss in progress is restored at once (with 1102)."""
        cleared = self._world.faults.clear()
        self._gateway.connectivity.restore()
        return {"cleared": cleared}

    def snapshot(self) -> dict:
        world = self._world
        broker = world.broker
        snap = take_snapshot(world)
        return to_jsonable({
            "clock": {"now": world.clock.now(), "offset_s": world.clock.offset_s, "frozen": world.clock.frozen},
            "account": {"account": snap.account, "base_currency": snap.base_currency,
                        "values": [{"tag": t, "value": v, "currency": c} for t, v, c in snap.values]},
            "cash": broker.cash(),
            "positions": list(snap.positions),
            "portfolio": list(snap.portfolio),
            "open_orders": broker.open_orders(None),
            "completed_orders": broker.completed_orders(),
            "executions": broker.executions(),
            "sessions": [{"client_id": s.client_id, "peer": s.peer, "server_version": s.server_version,
                          "requests": dict(s.requests)} for s in self._gateway.sessions()],
            "settings": {"seed": self._seed, "latency_ms": self._gateway.latency_ms,
                         "fills": self._gateway.fill_mode,
                         "fill_delay_ms": self._fill_delay_ms,
                         "partial_fill_pieces": broker.partial_fill_pieces,
                         "state_path": self._state_path},
        })
