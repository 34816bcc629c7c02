"""IB time text as clients write it into orders and requests: the one parser, shared by broker and gateway."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# zone TWS uses for times sent without one
TWS_TIME_ZONE = "US/Eastern"

# abbreviations clients put after order times, read as the zones IB means by them
ZONE_ABBREVIATIONS = {
    "EST": "US/Eastern", "EDT": "US/Eastern", "ET": "US/Eastern",
    "CST": "US/Central", "CDT": "US/Central", "CT": "US/Central",
    "MST": "US/Mountain", "MDT": "US/Mountain", "PST": "US/Pacific", "PDT": "US/Pacific",
    "GMT": "UTC", "UTC": "UTC", "Z": "UTC",
    "MET": "Europe/Berlin", "CET": "Europe/Berlin", "CEST": "Europe/Berlin",
    "BST": "Europe/London", "HKT": "Asia/Hong_Kong", "JST": "Asia/Tokyo",
}

START_OF_DAY = time(0, 0, 0)
END_OF_DAY = time(23, 59, 59)

_UTC_FORM = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}")
_ZONED_FORM = re.compile(r"(\d{8})(?:[\s-]+(\d{1,2}:\d{1,2}(?::\d{1,2})?))?(?:\s+(\S+))?")


def parse_ib_time(text: str, default_zone: str = TWS_TIME_ZONE, *, date_only_at: time = START_OF_DAY,
                  abbreviations: Mapping[str, str] = ZONE_ABBREVIATIONS) -> datetime | None:
    """An IB time text as an aware UTC datetime; None for "" (callers read it as "now" or "not set").

    Accepted: "YYYYMMDD-HH:MM:SS" (UTC), "YYYYMMDD HH:MM[:SS] [zone]" and "YYYYMMDD [zone]". A missing zone
    means `default_zone`; a date alone means `date_only_at` on that day. A zone is an IANA name or, case
    insensitively, a key of `abbreviations`.

    Raises:
        ValueError: the text has none of these shapes or names an unknown zone.
    """
    text = text.strip()
    if not text:
        return None
    if _UTC_FORM.fullmatch(text):
        return datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=timezone.utc)
    match = _ZONED_FORM.fullmatch(text)
    if not match:
        raise ValueError(f"invalid time {text!r}: expected 'YYYYMMDD HH:MM:SS [zone]' or 'YYYYMMDD-HH:MM:SS'")
    day, clock_text, zone_name = match.groups()
    clock_text = clock_text or date_only_at.strftime("%H:%M:%S")
    if clock_text.count(":") == 1:
        clock_text += ":00"
    moment = datetime.strptime(f"{day} {clock_text}", "%Y%m%d %H:%M:%S")
    zone_name = abbreviations.get((zone_name or "").upper(), zone_name or default_zone)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"invalid time {text!r}: unknown time zone {zone_name!r}") from exc
    return moment.replace(tzinfo=zone).astimezone(timezone.utc)
