"""The simulated UTC wall clock: real time, frozen, or running from a chosen start; moved forward by steps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


class Clock:
    """Simulated UTC wall clock.

    Parameters:
        start: None for real time (now = the system's UTC time + offset); a datetime freezes the clock at that
            moment (+ offset), so only step() moves it. A naive start is read as UTC.
        running: with a start, let the clock run in real time from it instead of freezing it there.
    """

    def __init__(self, start: datetime | None = None, *, running: bool = False):
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._start = start.astimezone(timezone.utc) if start is not None else None
        self._running = running and start is not None
        self._started_s = time.monotonic()
        self._offset_s = 0.0

    @property
    def frozen(self) -> bool:
        """True when the clock only moves through step()."""
        return self._start is not None and not self._running

    @property
    def offset_s(self) -> float:
        """Seconds added by step() since construction."""
        return self._offset_s

    def now(self) -> datetime:
        """The simulated current time, tz-aware UTC."""
        if self._start is None:
            base = datetime.now(timezone.utc)
        elif self._running:
            base = self._start + timedelta(seconds=time.monotonic() - self._started_s)
        else:
            base = self._start
        return base + timedelta(seconds=self._offset_s)

    def freeze(self) -> None:
        """Stop the clock where it is; from now on only step() moves it."""
        self._start = self.now() - timedelta(seconds=self._offset_s)
        self._running = False

    def step(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (>= 0); a negative step raises ValueError."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got a step of {seconds} s")
        self._offset_s += float(seconds)

    def describe(self) -> str:
        """How the clock runs: "frozen", "real time" or "running" (real time from a chosen start)."""
        if self._start is None:
            return "real time"
        return "running" if self._running else "frozen"
