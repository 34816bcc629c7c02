"""NetLiquidation samples `metrics/{mode}/netLiquidation/{auto-id}`: the account's value each time a run reads it
(allocation, reconcile, trade-reconciliation, risk-check, eod-check), so the dashboard can chart the day."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from lib.broker.account import net_liquidation
from lib.errors import ServiceError

log = logging.getLogger(__name__)

# the chart's reach: about a month of the scheduled runs (some twenty samples a trading day)
RECENT_LIMIT = 500


@dataclass(frozen=True)
class Sample:
    """Attributes:
        at: ISO-8601 UTC time of the reading (the service's clock).
        value, currency: NetLiquidation in the account's base currency.
        source: the intent whose run read it.
        activity_id: that run's activity document, when it has one.
    """

    at: str
    value: float
    currency: str
    source: str
    activity_id: str | None = None


def _collection(mode: str) -> str:
    return f"metrics/{mode}/netLiquidation"


def record(store, mode: str, sample: Sample) -> None:
    """Add `sample` under the mode's samples (never changed afterwards)."""
    store.add(_collection(mode), {"at": sample.at, "value": sample.value, "currency": sample.currency,
                                  "source": sample.source, "activityId": sample.activity_id})


def record_from_account(store, mode: str, account_values, account: str, *, at: str, source: str,
                        activity_id: str | None) -> Sample | None:
    """Record the NetLiquidation among IB's account values; None (and a warning) when IB reported none, so that a
    missing sample never fails the run that reads it.

    Args:
        account_values: ib_async AccountValues (or objects with tag, value, currency, account).
        account: config `account` ("" for any).
    """
    try:
        value, currency = net_liquidation(account_values, account)
    except ServiceError as exc:
        log.warning("no NetLiquidation sample from %s: %s", source, exc)
        return None
    sample = Sample(at=at, value=value, currency=currency, source=source, activity_id=activity_id)
    record(store, mode, sample)
    return sample


def recent(store, mode: str, limit: int = RECENT_LIMIT) -> list[Sample]:
    """The latest `limit` samples, oldest first."""
    docs = store.query(_collection(mode), order_by=[("at", "DESCENDING")], limit=limit)
    return [Sample(at=d.data["at"], value=float(d.data["value"]), currency=d.data.get("currency", ""),
                   source=d.data.get("source", ""), activity_id=d.data.get("activityId"))
            for d in reversed(docs)]
