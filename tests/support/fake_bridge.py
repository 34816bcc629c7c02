"""A bridge port whose broker is a table of answers, for unit tests of the intents' steps without IB."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping

from lib.errors import GatewayTimeout, GatewayUnavailable
from lib.gateway.port import BridgePort


class FakeBridge(BridgePort):
    """Answers each broker read by what it reads, not by mocking ib_async.

    `answers` maps a module-level function an intent hands to `run` or `call` (bare, or as functools.partial with
    its arguments bound) to a function called with those same arguments (without `ib`) that returns what the
    broker would have. A read with no answer fails the test; `reads` lists the reads made, in order.

    Parameters:
        answers: {read function: answer function}.
        ready: what `ready` says; a bridge that is not ready raises GatewayUnavailable like IBBridge.
        silent: reads the broker never answers; each raises GatewayTimeout as IBBridge does once its timeout
            has passed (without waiting for it).
    """

    def __init__(self, answers: Mapping[Callable, Callable] | None = None, *, ready: bool = True,
                 silent: frozenset[Callable] = frozenset()):
        self.answers = dict(answers or {})
        self.silent = silent
        self._ready = ready
        self.reads: list[str] = []

    @property
    def ready(self) -> bool:
        return self._ready

    def status(self) -> dict:
        return {"connected": self._ready, "ready": self._ready, "clientId": 1,
                "lastError": None if self._ready else "not connected"}

    def call(self, fn: Callable[[Any], Any], timeout_s: float) -> Any:
        return self._answer(fn, timeout_s)

    def run(self, coro_fn: Callable[[Any], Any], timeout_s: float) -> Any:
        return self._answer(coro_fn, timeout_s)

    def _answer(self, read: Callable, timeout_s: float) -> Any:
        if not self._ready:
            raise GatewayUnavailable("IB Gateway is not ready (fake bridge)")
        if timeout_s <= 0:
            raise GatewayTimeout("the run's deadline had passed before the broker read")
        func, args, kwargs = (read.func, read.args, read.keywords) if isinstance(read, partial) else (read, (), {})
        if func in self.silent:
            raise GatewayTimeout(f"gave up after {timeout_s:.3f} s")
        answer = self.answers.get(func)
        if answer is None:
            raise AssertionError(f"the fake broker has no answer for {getattr(func, '__qualname__', func)!r}")
        self.reads.append(func.__name__)
        return answer(*args, **kwargs)
