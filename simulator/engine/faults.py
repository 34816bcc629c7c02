"""The catalogue of IB misbehaviours the paper gateway injects on demand, and the faults armed right now.

A fault is armed with its kind's parameters. Kinds that act on later events (orders, executions, requests,
connections) are used up one event at a time: `count` events (default 1), or every event during `seconds` when
only `seconds` is given, or whichever ends first when both are. Kinds that act at once (a connectivity loss, a
restart) stay listed while they last. Durations are real seconds (the loop's monotonic time), not the simulated
clock, so a frozen clock does not stop a connectivity loss from ending. Armed faults live in memory only.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from simulator.engine import ib_messages

MAX_SECONDS = 3600.0
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class Parameter:
    """One parameter of a fault kind.

    Parameters:
        name: the field name in `POST /faults` and the keyword in-process.
        kind: "count" (integer >= 1), "seconds" (number in (0, 3600]), "fraction" (number in (0, 1]),
            "number" (positive), "code" or "choice" (one of `choices`), "text", "symbol" (a symbol or conId),
            "flag" (true/false).
        default: used when the parameter is not given (None: not set, or required when `required`).
        meaning: what it does, for GET /faults and docs/paper-gateway.md.
        choices: allowed values of a "code" or "choice" parameter.
        required: the fault cannot be armed without it.
    """

    name: str
    kind: str
    default: Any
    meaning: str
    choices: tuple = ()
    required: bool = False

    def convert(self, value: Any) -> Any:
        """The value checked against the parameter's kind.

        Raises:
            ValueError: the value does not fit, with a text naming the parameter.
        """
        check = _CHECKS[self.kind]
        converted = check(self, value)
        if converted is None:
            raise ValueError(f"{self.name} must be {_WORDING[self.kind](self)}, got {value!r}")
        return converted

    def describe(self) -> dict:
        entry = {"name": self.name, "type": self.kind, "default": self.default, "meaning": self.meaning}
        if self.choices:
            entry["choices"] = list(self.choices)
        if self.required:
            entry["required"] = True
        return entry


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(p: Parameter, value: Any) -> int | None:
    if _is_number(value) and int(value) == value and 1 <= value <= MAX_COUNT:
        return int(value)
    return None


def _seconds(p: Parameter, value: Any) -> float | None:
    return float(value) if _is_number(value) and 0 < value <= MAX_SECONDS else None


def _fraction(p: Parameter, value: Any) -> float | None:
    return float(value) if _is_number(value) and 0 < value <= 1 else None


def _positive(p: Parameter, value: Any) -> float | None:
    return float(value) if _is_number(value) and value > 0 else None


def _choice(p: Parameter, value: Any) -> Any:
    if isinstance(value, bool):
        return None
    for choice in p.choices:
        if value == choice or (isinstance(choice, int) and isinstance(value, str) and value == str(choice)):
            return choice
    return None


def _text(p: Parameter, value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _symbol(p: Parameter, value: Any) -> str | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        return value
    return None


def _flag(p: Parameter, value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


_CHECKS: dict[str, Callable[[Parameter, Any], Any]] = {
    "count": _count, "seconds": _seconds, "fraction": _fraction, "number": _positive, "code": _choice,
    "choice": _choice, "text": _text, "symbol": _symbol, "flag": _flag}
_WORDING: dict[str, Callable[[Parameter], str]] = {
    "count": lambda p: f"an integer from 1 to {MAX_COUNT}",
    "seconds": lambda p: f"a number of seconds in (0, {MAX_SECONDS:g}]",
    "fraction": lambda p: "a number in (0, 1]",
    "number": lambda p: "a positive number",
    "code": lambda p: "one of " + ", ".join(map(str, p.choices)),
    "choice": lambda p: "one of " + ", ".join(f'"{c}"' for c in p.choices),
    "text": lambda p: "a non-empty string",
    "symbol": lambda p: "a symbol like \"SPY\" or a conId",
    "flag": lambda p: "true or false"}


def _count_param(what: str) -> Parameter:
    return Parameter("count", "count", 1, f"how many {what} it applies to (default 1; with `seconds` alone: "
                                          f"every {what.rstrip('s')} during that time)")


def _seconds_param(what: str) -> Parameter:
    return Parameter("seconds", "seconds", None, f"apply it to every {what} during this many seconds instead")


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault.

    Parameters:
        name: the `kind` field.
        applies_to: what one use of the fault is spent on ("order", "connection", ...; "the gateway" for kinds
            that act at once).
        parameters: what shapes it; `count` and `seconds` scope the kinds spent on events.
        ib_sends: what a client receives, in IB's codes and texts.
        starts_now_when: (parameter, value) for a kind that acts at once only with that value (a restart now, or
            at the next order).
    """

    name: str
    applies_to: str
    parameters: tuple[Parameter, ...]
    ib_sends: str
    starts_now_when: tuple[str, Any] | None = None

    @property
    def scoped(self) -> bool:
        """Whether `count` and `seconds` say which events the fault is spent on."""
        return any(p.name == "count" for p in self.parameters)

    def immediate(self, values: dict) -> bool:
        """Whether a fault with these parameters acts at once (it is then listed while it lasts)."""
        if self.starts_now_when is not None:
            name, value = self.starts_now_when
            return values.get(name) == value
        return self.applies_to == "the gateway"

    def values(self, given: dict) -> dict:
        """The parameters with defaults filled in.

        Raises:
            ValueError: an unknown parameter, a missing required one, or a value that does not fit.
        """
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(f"{self.name} takes no parameter(s) {', '.join(unknown)} "
                             f"(it takes: {', '.join(known) or 'none'})")
        values = {}
        for parameter in self.parameters:
            if parameter.name in given and given[parameter.name] is not None:
                values[parameter.name] = parameter.convert(given[parameter.name])
            elif parameter.required:
                raise ValueError(f"{self.name} needs the parameter {parameter.name}")
            else:
                values[parameter.name] = parameter.default
        return values

    def describe(self) -> dict:
        return {"kind": self.name, "applies_to": self.applies_to,
                "parameters": [p.describe() for p in self.parameters], "ib_sends": self.ib_sends}


_WARNING_CODES = ", ".join(map(str, ib_messages.ORDER_WARNING_CODES))

CATALOGUE: dict[str, FaultKind] = {kind.name: kind for kind in (
    FaultKind("order-warning", "order", (
        Parameter("code", "code", ib_messages.TIF_PRESET[0], f"the warning's code ({_WARNING_CODES})",
                  ib_messages.ORDER_WARNING_CODES),
        Parameter("text", "text", None, "the warning's text (default: IB's text for the code)"),
        _count_param("orders"), _seconds_param("order")),
        "error(orderId, code, text) right after the order is accepted (10349 \"Order TIF was set to DAY based on "
        "order preset.\", 399 \"Order Message: ... Warning: ...\", 2109 \"Order Event Warning:Attribute 'Outside "
        "Regular Trading Hours' is ignored ...\"); the order keeps working: Submitted, then Filled"),
    FaultKind("order-reject", "order", (
        Parameter("code", "code", ib_messages.ORDER_REJECTED, "the rejection's code", (ib_messages.ORDER_REJECTED,)),
        Parameter("text", "text", f"{ib_messages.REJECTED_PREFIX}The order was rejected by the exchange.",
                  "the rejection's text (IB's prefix, then the reason)"),
        _count_param("orders"), _seconds_param("order")),
        "PreSubmitted, Submitted, then error(orderId, 201, \"Order rejected - reason:...\") and "
        "openOrder/orderStatus Inactive with the order's permId; nothing fills"),
    FaultKind("connectivity", "the gateway", (
        Parameter("seconds", "seconds", 5.0, "how long IB's servers stay out of reach"),
        Parameter("restore", "choice", "1102", "how connectivity comes back: \"1102\" (data maintained) or "
                                               "\"1101\" (data lost: market data subscriptions are dropped)",
                  ("1102", "1101"))),
        "error(-1, 1100, \"Connectivity between IB and Trader Workstation has been lost.\") and the farm warnings "
        "2103/2105 to every client, sockets open; requests that need IB's servers (contract details, market and "
        "historical data, orders and cancels) wait, quotes stop, order and account events are held; after "
        "`seconds` 1102 (\"... restored - data maintained ...\", waiting requests answered, held events sent) or "
        "1101 (\"... restored - data lost.\", waiting data requests and subscriptions dropped, orders sent)"),
    FaultKind("pacing", "historical data request", (
        _count_param("historical data requests"), _seconds_param("historical data request")),
        "error(reqId, 162, \"Historical Market Data Service error message:Historical data request pacing "
        "violation\") instead of bars; besides, a client sending more than --max-messages-per-s messages in a "
        "second (default 50, IB's limit) gets error(reqId, 100, \"Max rate of messages per second has been "
        "exceeded.\") for each message over it, which is not served"),
    FaultKind("market-data-error", "market data request", (
        Parameter("symbol", "symbol", None, "the contract whose market data fails (symbol or conId)",
                  required=True),
        Parameter("code", "code", 354, "354 (not subscribed), 10089 (needs an API subscription) or 10197 "
                                       "(competing live session)", ib_messages.MARKET_DATA_CODES),
        _count_param("market data requests"), _seconds_param("market data request")),
        "error(reqId, code, text) for reqMktData of that contract (snapshots included), no ticks: 354 \"Requested "
        "market data is not subscribed.Delayed market data is available.SPY ARCA/TOP/ALL\", 10089 \"Requested "
        "market data requires additional subscription for API. ...\", 10197 \"No market data during competing "
        "live session\""),
    FaultKind("inactive-then-active", "order", (
        Parameter("inactive_s", "seconds", 1.0, "how long the order stays Inactive before IB takes it up again"),
        _count_param("orders"), _seconds_param("order")),
        "PreSubmitted, then openOrder/orderStatus Inactive with whyHeld \"locate\" and error(orderId, 404, \"Order "
        "held while securities are located.\"); after `inactive_s` orderStatus Submitted and the fill"),
    FaultKind("cancel-race", "cancel", (
        Parameter("fill_fraction", "fraction", 0.5, "share of what was left that fills before the cancel takes "
                                                    "effect (1: all of it, and the order ends Filled)"),
        _count_param("cancels"), _seconds_param("cancel")),
        "cancelOrder is answered with orderStatus PendingCancel; then an execution of that share of the order (at "
        "its limit, or the market for a market order), then orderStatus Cancelled and error(orderId, 202, "
        "\"Order Canceled - reason:\")"),
    FaultKind("execution-correction", "execution", (
        Parameter("delay_s", "seconds", 0.5, "when the correction comes after the execution"),
        Parameter("quantity", "number", None, "the corrected shares (default: the original's)"),
        Parameter("price", "number", None, "the corrected price (default: one tick worse for the account)"),
        _count_param("executions"), _seconds_param("execution")),
        "execDetails and commissionReport of the execution, then after `delay_s` execDetails of its correction: "
        "the same execId with the last part raised (\"...01.01\" -> \"...01.02\", IB's rule for corrections), the "
        "corrected shares or price, its commissionReport, and orderStatus with the corrected filled and average "
        "price; the account books the correction instead of the original, and reqExecutions reports only the "
        "correction"),
    FaultKind("commission-delay", "execution", (
        Parameter("delay_s", "seconds", 2.0, "how long after its execDetails the commissionReport comes"),
        _count_param("executions"), _seconds_param("execution")),
        "execDetails at once and its commissionReport `delay_s` later (a reqExecutions in between answers the "
        "execution without its commission report)"),
    FaultKind("restart", "the gateway, or the next order", (
        Parameter("seconds", "seconds", 2.0, "how long the API port refuses connections"),
        Parameter("when", "choice", "now", "\"now\", or \"next-order\": as the next order arrives, which is lost",
                  ("now", "next-order"))),
        "IB Gateway's daily restart: every socket closes (clients see the connection drop) and the API port "
        "refuses connections for `seconds`; then it accepts them again with every order, position and execution "
        "as they were. With when \"next-order\" it happens as the next placeOrder arrives: that order never "
        "reaches IB, and nothing answers it", starts_now_when=("when", "now")),
    FaultKind("handshake-hang", "connection", (
        Parameter("stage", "choice", "handshake", "\"handshake\": the version handshake is never answered; "
                                                  "\"executions\": the connection's first reqExecutions (the "
                                                  "initial sync of ib_insync's connect) never gets "
                                                  "execDetailsEnd", ("handshake", "executions")),
        _count_param("connections"), _seconds_param("connection")),
        "a connection accepted and then left hanging: no server version for the handshake, or (stage "
        "\"executions\") everything but the end of the first reqExecutions, so a client's connect times out"),
    FaultKind("silent-order", "order", (
        Parameter("lost", "flag", False, "IB never gets the order (default: IB works and fills it)"),
        _count_param("orders"), _seconds_param("order")),
        "no callback at all about the order: no openOrder, orderStatus, execDetails, commissionReport or error; "
        "IB works it all the same (it fills; reqOpenOrders, reqExecutions and GET /state show it), unless `lost`"),
)}


@dataclass
class ArmedFault:
    """A fault waiting for (or acting on) its events.

    Parameters:
        fault_id: its number in GET /faults.
        kind: the FaultKind.
        values: its parameters, defaults filled in.
        remaining: uses left (None: unlimited until `until_s`).
        until_s: monotonic deadline (None: until used up).
        used: how many events it acted on.
    """

    fault_id: int
    kind: FaultKind
    values: dict
    remaining: int | None
    until_s: float | None
    used: int = 0

    def live(self, now_s: float) -> bool:
        if self.until_s is not None and now_s >= self.until_s:
            return False
        return self.remaining is None or self.remaining > 0

    def describe(self, now_s: float) -> dict:
        left_s = None if self.until_s is None else max(0.0, round(self.until_s - now_s, 3))
        return {"id": self.fault_id, "kind": self.kind.name, "parameters": dict(self.values),
                "remaining": self.remaining, "seconds_left": left_s, "used": self.used}


@dataclass
class Faults:
    """The armed faults of one gateway.

    Parameters:
        monotonic: the clock durations are measured on (seconds).
    """

    monotonic: Callable[[], float] = time.monotonic
    _armed: list[ArmedFault] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def arm(self, kind: str, **given) -> ArmedFault:
        """Arm a fault of `kind` with the given parameters.

        Raises:
            KeyError: no such kind.
            ValueError: a parameter is unknown, missing or out of range.
        """
        fault_kind = CATALOGUE.get(kind)
        if fault_kind is None:
            raise KeyError(f"no fault kind {kind!r}; kinds: {', '.join(CATALOGUE)}")
        values = fault_kind.values(given)
        now_s = self.monotonic()
        if fault_kind.immediate(values):
            remaining, until_s = None, now_s + values["seconds"]
        elif not fault_kind.scoped:
            remaining, until_s = 1, None
        else:
            seconds = values["seconds"]
            remaining = values["count"] if given.get("count") is not None or seconds is None else None
            until_s = None if seconds is None else now_s + seconds
        fault = ArmedFault(next(self._ids), fault_kind, values, remaining, until_s)
        self._prune(now_s)
        self._armed.append(fault)
        return fault

    def take(self, kind: str, accept: Callable[[dict], bool] | None = None) -> dict | None:
        """Spend one use of the oldest live fault of `kind` whose parameters `accept` takes; its parameters, or
        None when none is armed."""
        now_s = self.monotonic()
        self._prune(now_s)
        for fault in self._armed:
            if fault.kind.name == kind and (accept is None or accept(fault.values)):
                if fault.remaining is not None:
                    fault.remaining -= 1
                fault.used += 1
                return dict(fault.values)
        return None

    def armed(self) -> list[ArmedFault]:
        """Live faults, oldest first."""
        self._prune(self.monotonic())
        return list(self._armed)

    def clear(self) -> int:
        """Disarm everything; returns how many faults were armed."""
        count = len(self.armed())
        self._armed = []
        return count

    def listing(self) -> dict:
        """The catalogue and what is armed, as GET /faults shows them."""
        now_s = self.monotonic()
        return {"catalogue": [kind.describe() for kind in CATALOGUE.values()],
                "armed": [fault.describe(now_s) for fault in self.armed()]}

    def _prune(self, now_s: float) -> None:
        self._armed = [f for f in self._armed if f.live(now_s)]
