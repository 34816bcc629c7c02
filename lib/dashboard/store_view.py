"""What the store says, read for one dashboard answer: config, the ledger, the start of day, the NetLiquidation
samples, the latest runs and `reconcile`'s last broker snapshot. Reads only."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lib.config import TradingConfig
from lib.store.port import Document
from lib.trading import daily_report, net_liquidation_samples, start_of_day
from lib.trading.ledger import Ledger

# the latest runs read for one answer; Firestore bills each document read, and a day of scheduled jobs is about
# twenty runs, so this covers several days
RUNS_SCANNED = 100
# an activity document id as the store's adapters make them (auto ids), or as a path segment can hold
ACTIVITY_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class StoreView:
    """Attributes:
        holdings: {strategy: {conId: quantity}} from the ledger.
        cost_bases: {strategy: {conId (text): {quantity, cost}}}, each strategy's own (`lib.trading.cost_basis`).
        open_orders: the ledger's records of orders still working.
        start: the last recorded start of day.
        samples: NetLiquidation samples, oldest first.
        activity: the latest activity documents, newest first.
        snapshot: `reconcile`'s `latest_portfolio`, or None.
        daily_report: the latest day's report (`daily-report`), or None.
    """

    config: TradingConfig
    holdings: dict[str, dict[int, int]]
    cost_bases: dict[str, dict]
    open_orders: list[dict]
    start: start_of_day.StartOfDay | None
    samples: list[net_liquidation_samples.Sample]
    activity: list[Document]
    snapshot: dict | None
    daily_report: dict | None


def read(store, mode: str) -> StoreView:
    ledger = Ledger(store, mode)
    positions = store.get(f"positions/{mode}") or {}
    return StoreView(
        config=TradingConfig.load(store, mode),
        holdings=ledger.all_holdings(),
        cost_bases=ledger.cost_bases(),
        open_orders=ledger.open_orders(),
        start=start_of_day.latest(store, mode),
        samples=net_liquidation_samples.recent(store, mode),
        activity=store.query("activity", order_by=[("startedAt", "DESCENDING")], limit=RUNS_SCANNED),
        snapshot=positions.get("latest_portfolio"),
        daily_report=daily_report.latest(store, mode))


def activity_document(store, activity_id: str) -> dict | None:
    """One run's activity document, or None when there is none by that id (or the id cannot be one)."""
    if not ACTIVITY_ID.fullmatch(activity_id) or activity_id.startswith("__"):
        return None
    return store.get(f"activity/{activity_id}")


def existing_activities(store, activity_ids: set[str], read: list[Document]) -> set[str]:
    """The ids among `activity_ids` that name an activity document; those among the documents already `read` cost
    no store read (Firestore bills each one)."""
    known = activity_ids & {doc.id for doc in read}
    return known | {activity_id for activity_id in activity_ids - known
                    if activity_document(store, activity_id) is not None}
