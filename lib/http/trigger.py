"""Who started a run, read from the request headers: Cloud Scheduler or a person (curl, a browser, a script).

Cloud Scheduler's HTTP targets send `User-Agent: Google-Cloud-Scheduler` (Cloud Scheduler v1 API, HttpTarget.headers:
"User-Agent: This will be set to Google-Cloud-Scheduler") and `X-CloudScheduler: true`, `X-CloudScheduler-JobName`
and, for cron schedules, `X-CloudScheduler-ScheduleTime` (RFC 3339; AppEngineHttpTarget.headers lists them).
Anyone allowed to invoke the service could send the same headers, so the trigger describes a run; it grants
nothing.
"""
from __future__ import annotations

from collections.abc import Mapping

SCHEDULER_USER_AGENT = "Google-Cloud-Scheduler"
SCHEDULER = "scheduler"
MANUAL = "manual"
# a header value is kept to this many characters in the activity document
MAX_VALUE_CHARS = 200


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or "").strip()[:MAX_VALUE_CHARS]


def from_headers(headers: Mapping[str, str]) -> dict:
    """{"kind": "scheduler", "jobName", "scheduleTime"} for Cloud Scheduler, else {"kind": "manual", "userAgent"}.

    Args:
        headers: the request's headers (case-insensitive lookup, as werkzeug's Headers).
    """
    user_agent = _header(headers, "User-Agent")
    scheduled = _header(headers, "X-CloudScheduler").lower() == "true" or user_agent.startswith(SCHEDULER_USER_AGENT)
    if scheduled:
        return {"kind": SCHEDULER, "jobName": _header(headers, "X-CloudScheduler-JobName") or None,
                "scheduleTime": _header(headers, "X-CloudScheduler-ScheduleTime") or None}
    return {"kind": MANUAL, "userAgent": user_agent or None}
