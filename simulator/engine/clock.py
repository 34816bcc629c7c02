"""The simulated UTC wall clock: real time or frozen, moved forward by explicit steps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class Clock:
    """Simulated UTC wall clock.

    Parameters:
        start: None for real time (now = the system's UTC time + offset); a datetime freezes the clock at that
            moment (+ offset), so only step() moves it. A naive start is read as UTC.
    """

    def __init__(self, start: datetime | None = None):
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._start = start.astimezone(timezone.utc) if start is not None else None
        self._offset_s = 0.0

    @property
    def frozen(self) -> bool:
        """True when the clock only moves through step()."""
        return self._start is not None

    @property
    def offset_s(self) -> float:
        """Seconds added by step() since construction."""
        return self._offset_s

    def now(self) -> datetime:
        """The simulated current time, tz-aware UTC."""
        base = self._start if self._start is not None else datetime.now(timezone.utc)
        return base + timedelta(seconds=self._offset_s)

    def step(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (>= 0); a negative step raises ValueError."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got a step of {seconds} s")
        self._offset_s += float(seconds)
