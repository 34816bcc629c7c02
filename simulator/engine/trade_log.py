"""How far back TWS reports executions and completed orders: since midnight of the current day in TWS's time zone,
or of the last N days when its Trade Log is set to show them ("Show trades for ...", up to 7 days; IB Gateway keeps
the default of one day). IB's TWS API documentation on executions: "By default, only those executions occurring
since midnight for that particular account will be delivered." The broker keeps everything; only the answers are
cut."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from simulator.engine.ib_time import TWS_TIME_ZONE

MAX_DAYS = 7


def window_start(now: datetime, days: int = 1) -> datetime:
    """The earliest time reported at `now` when TWS shows `days` days (1 = today only), UTC."""
    zone = ZoneInfo(TWS_TIME_ZONE)
    first_day = now.astimezone(zone).date() - timedelta(days=days - 1)
    return datetime.combine(first_day, time(0, 0), tzinfo=zone).astimezone(timezone.utc)
