"""The Cloud Scheduler jobs of `deploy/scheduler-jobs` and the moments they fire on a day, to drive a day of the
service as production does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import yaml

from deploy.render import render
from tests.support import REPO_ROOT

# what the job files' templates name; only the URL's path and the body matter to a test
TEMPLATE_VALUES = {"SERVICE": "ib-trading", "REGION": "r", "PROJECT_ID": "p", "SERVICE_URL": "http://service"}


@dataclass(frozen=True)
class Firing:
    """One run of a job: when, which intent (the target's path) and the body it posts."""

    at: datetime
    intent: str
    body: dict


def scheduler_jobs() -> list[dict]:
    return [yaml.safe_load(render(path.read_text(), TEMPLATE_VALUES))
            for path in sorted((REPO_ROOT / "deploy/scheduler-jobs").glob("*.yaml"))]


def field_values(field: str, low: int, high: int) -> set[int]:
    """The values of one unix-cron field: `*`, `*/n`, `a`, `a-b`, `a-b/n`, and lists of them."""
    values: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = (int(v) for v in span.split("-"))
        else:
            first = last = int(span)
        values.update(range(first, last + 1, int(step or 1)))
    return values


def fires_on(schedule: str, day: date) -> list[time]:
    """The times of day a unix-cron schedule fires on `day` (in the job's own time zone), in order."""
    minute, hour, day_of_month, month, weekday = schedule.split()
    if (day.day not in field_values(day_of_month, 1, 31) or day.month not in field_values(month, 1, 12)
            or day.isoweekday() % 7 not in field_values(weekday, 0, 6)):
        return []
    return [time(h, m) for h in sorted(field_values(hour, 0, 23)) for m in sorted(field_values(minute, 0, 59))]


def job(intent: str) -> dict:
    """The job of `deploy/scheduler-jobs` that calls `intent`."""
    [found] = [j for j in scheduler_jobs() if j["httpTarget"]["uri"].rsplit("/", 1)[-1] == intent]
    return found


def seconds(duration: str) -> float:
    """A Cloud Scheduler duration ("60s") in seconds."""
    assert duration.endswith("s"), duration
    return float(duration[:-1])


def retry_delays(job_: dict) -> list[float]:
    """The seconds Cloud Scheduler waits before each retry of a failed attempt, by the job's retryConfig: from
    minBackoffDuration, doubled maxDoublings times, then growing by the last doubled interval, capped at
    maxBackoffDuration (Cloud Scheduler's RetryConfig: with 10 s, 300 s and 3 doublings, 10, 20, 40, 80, 160, 240,
    300, 300 s)."""
    retry = job_["retryConfig"]
    low, high = seconds(retry["minBackoffDuration"]), seconds(retry["maxBackoffDuration"])
    doublings = retry.get("maxDoublings", 5)
    delays = [low * 2 ** min(i, doublings) + low * 2 ** doublings * max(0, i - doublings)
              for i in range(retry["retryCount"])]
    return [min(delay, high) for delay in delays]


def day_of_firings(day: date) -> list[Firing]:
    """Every job's firings on `day`, in time order (jobs firing together in file order)."""
    firings = []
    for job in scheduler_jobs():
        zone = ZoneInfo(job["timeZone"])
        intent = job["httpTarget"]["uri"].rsplit("/", 1)[-1]
        for moment in fires_on(job["schedule"], day):
            firings.append(Firing(datetime.combine(day, moment, zone), intent, job["httpTarget"].get("body", {})))
    return sorted(firings, key=lambda firing: firing.at)
