"""Order times given by people ("today 15:55 America/New_York") turned into IB's UTC form "YYYYMMDD-HH:MM:SS"."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.errors import BadRequest

IB_UTC_FORMAT = "%Y%m%d-%H:%M:%S"

_HUMAN = re.compile(r"(?P<day>today|tomorrow|\d{4}-\d{2}-\d{2})\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s+(?P<zone>\S+)",
                    re.IGNORECASE)
_IB_UTC = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}")
_FORMS = ('"today 15:55 America/New_York", "tomorrow 09:35 Europe/London", "2026-11-24 15:55 UTC" or IB\'s '
          '"20261124-20:55:00" (UTC)')


def to_ib_utc(text: str, now: datetime, *, name: str = "goodAfterTime") -> str:
    """IB's UTC timestamp for a day (today/tomorrow in the given zone, or a date), a wall time and an IANA zone.

    Args:
        text: the human form, or IB's UTC form (returned as it is once checked).
        now: the current time (aware), which "today" and "tomorrow" count from in the given zone.
        name: the parameter name, for error messages.

    Raises:
        BadRequest: text in neither form, an unknown zone, or an impossible date or time.
    """
    if not isinstance(text, str):
        raise BadRequest(f"{name} must be text such as {_FORMS}; got {text!r}")
    text = text.strip()
    if _IB_UTC.fullmatch(text):
        try:
            datetime.strptime(text, IB_UTC_FORMAT)
        except ValueError:
            raise BadRequest(f"{name} {text!r} is not a valid time") from None
        return text
    match = _HUMAN.fullmatch(text)
    if match is None:
        raise BadRequest(f"{name} must look like {_FORMS}; got {text!r}")
    try:
        zone = ZoneInfo(match["zone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"{name}: unknown time zone {match['zone']!r} (use an IANA name such as America/New_York)") \
            from None
    local_today = now.astimezone(zone).date()
    day_text = match["day"].lower()
    try:
        if day_text == "today":
            day = local_today
        elif day_text == "tomorrow":
            day = local_today + timedelta(days=1)
        else:
            day = date.fromisoformat(day_text)
        hour, rest = match["time"].split(":", 1)
        wall = time.fromisoformat(f"{int(hour):02d}:{rest}")
    except ValueError as exc:
        raise BadRequest(f"{name} {text!r}: {exc}") from None
    return datetime.combine(day, wall, zone).astimezone(timezone.utc).strftime(IB_UTC_FORMAT)
