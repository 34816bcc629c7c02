"""The bridge port: what the service asks of its IB connection, so that tests can hand intents a fake."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


class BridgePort(ABC):
    """Runs work against one IB connection owned elsewhere (IBBridge: a loop thread; tests: a fake).

    `call` and `run` raise GatewayUnavailable when the connection is not ready and GatewayTimeout past
    `timeout_s`; IB's own errors arrive as IBError.
    """

    @property
    @abstractmethod
    def ready(self) -> bool:
        """Connected, and the initial sync done."""

    @abstractmethod
    def call(self, fn: Callable[[Any], T], timeout_s: float) -> T:
        """`fn(ib)` with the connection's IB object, for reading its state; returns fn's result."""

    @abstractmethod
    def run(self, coro_fn: Callable[[Any], Awaitable[T]], timeout_s: float) -> T:
        """`await coro_fn(ib)` on the connection's loop; returns its result."""

    @abstractmethod
    def status(self) -> dict:
        """JSON-able connection state: at least `connected`, `ready` and `lastError`."""

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the bridge is ready, waiting up to `timeout_s` where a connection may be coming up."""
        return self.ready
