"""The daily report: the account's NetLiquidation at the open and the close, each strategy's realised and unrealised
PnL from its own cost basis, the day's fills and commissions, failed runs and ledger differences. Stored at
`reports/{mode}/daily/{day}` with its `daily.report` event in one transaction."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from lib.events import outbox
from lib.trading import cost_basis
from lib.trading.market_calendar import trading_date


def day_marks(store, mode: str, gateway_now: datetime) -> list[dict]:
    """The execution marks of the gateway's trading day (execution times are IB's), each with its execId."""
    day = trading_date(gateway_now)
    since = (gateway_now - timedelta(days=2)).isoformat()
    return [doc.data | {"execId": doc.id}
            for doc in store.query(f"positions/{mode}/executions", where=[("time", ">=", since)])
            if trading_date(datetime.fromisoformat(doc.data["time"])) == day]


def failed_runs(store, since: str) -> list[str]:
    """The activity ids of the runs that failed since `since` (the service's clock)."""
    return [doc.id for doc in store.query("activity", where=[("status", "==", "failed")])
            if doc.data.get("startedAt", "") >= since]


def strategy_pnl(marks: list[dict], bases: dict[str, dict], prices: dict[int, float],
                 multipliers: dict[int, float], commissions: dict[str, float]) -> dict[str, dict]:
    """Each strategy's PnL of the day: realised (the day's execution marks), unrealised (its open cost basis at
    `prices`), commissions (each execution's split by the strategies' parts of it), all times the contract's
    multiplier, in the contract's currency.

    Args:
        marks: the day's execution marks (`Ledger`'s `executions` documents, with their execId as `execId`).
        commissions: IB's commission by execId.
    """
    report: dict[str, dict] = defaultdict(lambda: {"realized": 0.0, "unrealized": 0.0, "commissions": 0.0,
                                                   "fills": 0})
    for mark in marks:
        multiplier = multipliers.get(mark["conId"], 1.0)
        for strategy, amount in mark.get("realized", {}).items():
            report[strategy]["realized"] += amount * multiplier
        parts = {s: abs(q) for s, q in mark.get("parts", mark.get("split", {})).items() if q}
        whole = sum(parts.values())
        for strategy, part in parts.items():
            report[strategy]["fills"] += 1
            report[strategy]["commissions"] += commissions.get(mark["execId"], 0.0) * part / whole
    for strategy, basis in bases.items():
        for key, entry in basis.items():
            con_id = int(key)
            if con_id in prices:
                unrealized, _ = cost_basis.unrealized({key: entry}, prices)
                report[strategy]["unrealized"] += unrealized * multipliers.get(con_id, 1.0)
    for entry in report.values():
        entry["pnl"] = entry["realized"] + entry["unrealized"] - entry["commissions"]
        for name in ("realized", "unrealized", "commissions", "pnl"):
            entry[name] = round(entry[name], 2)
    return dict(report)


def latest(store_, mode: str) -> dict | None:
    """The latest day's report, or None before the first."""
    found = store_.query(f"reports/{mode}/daily", order_by=[("day", "DESCENDING")], limit=1)
    return found[0].data if found else None


def store(store_, mode: str, report: dict, at: str) -> None:
    """Keep the day's report (a later run of the same day replaces it) and its event."""
    def work(tx):
        tx.set(f"reports/{mode}/daily/{report['day']}", report)
        outbox.emit(tx, "daily.report", outbox.stable_id("daily-report", mode, report["day"], at), report, at=at,
                    mode=mode)

    store_.run_transaction(work)
