"""Time budget of one intent run, shared by every bridge call it makes."""
from __future__ import annotations

import time

from lib.errors import GatewayTimeout


class Deadline:
    """A point in monotonic time after which work is abandoned with GatewayTimeout.

    Args:
        budget_s: seconds from now.
    """

    def __init__(self, budget_s: float, *, clock=time.monotonic):
        self._clock = clock
        self.budget_s = budget_s
        self._end = clock() + budget_s

    def remaining_s(self) -> float:
        """Seconds left; raises GatewayTimeout when none are."""
        left = self._end - self._clock()
        if left <= 0:
            raise GatewayTimeout(f"time budget of {self.budget_s:g} s exhausted")
        return left
