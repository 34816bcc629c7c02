"""Time budget of one intent run, shared by every bridge call and store transaction it makes."""
from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar
from typing import Iterator

from lib.errors import GatewayTimeout

_active: ContextVar["Deadline | None"] = ContextVar("deadline", default=None)


class Deadline:
    """A point in monotonic time after which work is abandoned with GatewayTimeout.

    Bridge calls get it explicitly (`timeout_s=deadline.remaining_s()`). The store learns it from the context:
    `Intent.run` makes the run's deadline `active()`, and the Firestore adapter retries contended transactions
    only while `current()` has time left.

    Args:
        budget_s: seconds from now.
    """

    def __init__(self, budget_s: float, *, clock=time.monotonic):
        self._clock = clock
        self.budget_s = budget_s
        self._end = clock() + budget_s

    def remaining_s(self) -> float:
        """Seconds left; raises GatewayTimeout when none are."""
        left = self.left_s()
        if left <= 0:
            raise GatewayTimeout(f"time budget of {self.budget_s:g} s exhausted")
        return left

    def left_s(self) -> float:
        """Seconds left, zero or negative once the budget is spent (never raises)."""
        return self._end - self._clock()

    @contextlib.contextmanager
    def active(self) -> Iterator["Deadline"]:
        """Make this the deadline `current()` returns in this thread (and context) until the block ends."""
        token = _active.set(self)
        try:
            yield self
        finally:
            _active.reset(token)


def current() -> Deadline | None:
    """The deadline of the intent run in progress in this context, or None outside one."""
    return _active.get()
