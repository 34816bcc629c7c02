"""When to restart a gateway that exited, and when to give up so Cloud Run replaces the instance."""
from __future__ import annotations


class RestartPolicy:
    """Capped exponential backoff over consecutive short-lived gateway runs.

    A run that lasted at least `stable_s` (a day's session ended by IB's restart, the Sunday cold restart) ends the
    streak and restarts after `initial_s`. Each short run doubles the delay up to `max_s`; the `max_failures`-th
    short run in a row gives up.

    Args:
        initial_s: delay after the first exit.
        max_s: the longest delay.
        max_failures: consecutive short runs tolerated, the last one included, before giving up.
        stable_s: the run length that counts as healthy.
    """

    def __init__(self, *, initial_s: float, max_s: float, max_failures: int, stable_s: float):
        self.initial_s = initial_s
        self.max_s = max_s
        self.max_failures = max_failures
        self.stable_s = stable_s
        self.failures = 0

    def after_exit(self, uptime_s: float) -> float | None:
        """The delay before the next start, or None to give up."""
        if uptime_s >= self.stable_s:
            self.failures = 0
            return self.initial_s
        self.failures += 1
        if self.failures >= self.max_failures:
            return None
        return min(self.max_s, self.initial_s * 2 ** (self.failures - 1))
