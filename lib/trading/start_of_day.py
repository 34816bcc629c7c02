"""The start-of-day document `status/{mode}`: the trading day's opening NetLiquidation, kept by the first
allocation of the day and read by `risk-check`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class StartOfDay:
    """Attributes:
        day: the New York trading day it belongs to.
        net_liquidation, currency: the account's NetLiquidation in its base currency when it was recorded.
        recorded_at: ISO-8601 UTC time of recording; orders placed since then are that day's.
        activity_id: the allocation run that recorded it.
    """

    day: date
    net_liquidation: float
    currency: str
    recorded_at: str
    activity_id: str | None


def _path(mode: str) -> str:
    return f"status/{mode}"


def record_once(store, mode: str, start: StartOfDay) -> None:
    """Keep `start` unless the document already holds that trading day (the day's first recording wins)."""
    path = _path(mode)

    def record(tx):
        current = tx.get(path) or {}
        if current.get("date") != start.day.isoformat():
            tx.set(path, {"date": start.day.isoformat(), "startOfDayNetLiquidation": start.net_liquidation,
                          "currency": start.currency, "recordedAt": start.recorded_at,
                          "activityId": start.activity_id})

    store.run_transaction(record)


def latest(store, mode: str) -> StartOfDay | None:
    """The last recorded start of day, or None when none was ever recorded."""
    data = store.get(_path(mode))
    if not data:
        return None
    return StartOfDay(day=date.fromisoformat(data["date"]), net_liquidation=data["startOfDayNetLiquidation"],
                      currency=data.get("currency", ""), recorded_at=data["recordedAt"],
                      activity_id=data.get("activityId"))
