"""The dashboard's panels from what the store and the broker said: pure functions, plain data in, models out."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from lib.dashboard import model
from lib.dashboard.store_view import ACTIVITY_ID
from lib.broker.account_view import PortfolioLine
from lib.broker.account_view import WorkingOrder as BrokerWorkingOrder
from lib.broker.parsing import BrokerPosition
from lib.config import TradingConfig
from lib.store.port import Document
from lib.trading.net_liquidation_samples import Sample
from lib.trading.reconciliation import broker_positions, ledger_differences, ledger_totals
from lib.trading.start_of_day import StartOfDay

RUNS_PER_INTENT = 5
ERROR_CHARS = 2000


def trading(config: TradingConfig, mode: str) -> model.Trading:
    """The kill switch as the order-capable intents read it (intents/base.py)."""
    enabled = config.get("tradingEnabled")
    if mode == "live" and not config.has_mode_document:
        return model.Trading(mode=mode, enabled=False, reason="live trading needs a config/live document")
    if enabled is True:
        return model.Trading(mode=mode, enabled=True, reason="tradingEnabled is true: runs may place orders")
    shown = "not set" if enabled is None else f"{enabled!r}"
    return model.Trading(mode=mode, enabled=False,
                         reason=f"kill switch: tradingEnabled is {shown}; runs that could place orders are refused")


def net_liquidation(samples: list[Sample], start: StartOfDay | None, config: TradingConfig, today: date,
                    current: tuple[float, str] | None) -> model.NetLiquidation:
    """The chart's samples with the start of day and the drawdown limit `risk-check` applies."""
    if current is None and samples:
        current = (samples[-1].value, samples[-1].currency)
    limit = config.get("maxDailyDrawdownPercent")
    limit = float(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) else None
    start_model, limit_value, drawdown = None, None, None
    if start is not None:
        start_model = model.StartOfDay(date=start.day.isoformat(), value=start.net_liquidation,
                                       currency=start.currency, recorded_at=start.recorded_at,
                                       activity_id=start.activity_id, today=start.day == today)
        if limit is not None:
            limit_value = round(start.net_liquidation * (1 - limit / 100), 2)
        if current is not None and start.net_liquidation > 0:
            drawdown = round(max(0.0, (start.net_liquidation - current[0]) / start.net_liquidation * 100), 4)
    return model.NetLiquidation(
        current=current[0] if current else None, currency=current[1] if current else None,
        samples=[model.Sample(at=s.at, value=s.value, currency=s.currency, source=s.source,
                              activity_id=s.activity_id) for s in samples],
        start_of_day=start_model, max_daily_drawdown_percent=limit, drawdown_limit=limit_value,
        drawdown_percent=drawdown)


def symbols(positions: Iterable[BrokerPosition], portfolio: Iterable[PortfolioLine]) -> dict[int, str]:
    names = {p.con_id: p.local_symbol for p in positions}
    names.update({line.con_id: line.local_symbol for line in portfolio})
    return names


def strategy_holdings(holdings: Mapping[str, Mapping[int, int]], portfolio: Mapping[int, PortfolioLine],
                      names: Mapping[int, str], bases: Mapping[str, Mapping]) -> list[model.StrategyHoldings]:
    """Each strategy's holdings valued at the broker's price; the unrealised PnL is taken against the strategy's
    own cost basis (`positions/{mode}/costBasis/{strategy}`), not the account's average cost, which IB keeps per
    contract for the whole account and so mixes every strategy's and a person's trades."""
    panels = []
    for strategy in sorted(holdings):
        basis = bases.get(strategy, {})
        rows = [_holding(con_id, quantity, portfolio.get(con_id), names, basis.get(str(con_id)))
                for con_id, quantity in sorted(holdings[strategy].items()) if quantity]
        panels.append(model.StrategyHoldings(strategy=strategy, holdings=rows,
                                             market_value=_total(r.market_value for r in rows),
                                             unrealized_pnl=_total(r.unrealized_pnl for r in rows)))
    return panels


def _holding(con_id: int, quantity: int, line: PortfolioLine | None, names: Mapping[int, str],
             basis: Mapping | None) -> model.Holding:
    value = pnl = price = None
    if line is not None and line.position and line.market_value is not None:
        per_unit = line.market_value / line.position
        price = line.market_price
        value = round(quantity * per_unit, 2)
        # the basis is in price units; the market value per unit carries the contract's multiplier
        if basis is not None and basis.get("quantity") == quantity and price:
            pnl = round(quantity * per_unit - basis["cost"] * per_unit / price, 2)
    return model.Holding(con_id=con_id, local_symbol=names.get(con_id, str(con_id)), quantity=quantity,
                         market_price=price, market_value=value, unrealized_pnl=pnl)


def daily_report(report: Mapping | None, url_of) -> model.DailyReport | None:
    """The latest day's report as `daily-report` stored it.

    Args:
        url_of: activity id -> the URL of its document.
    """
    if not report:
        return None
    strategies = [model.StrategyDay(strategy=name, realized_pnl=day["realized"], unrealized_pnl=day["unrealized"],
                                    commissions=day["commissions"], pnl=day["pnl"], fills=day["fills"])
                  for name, day in sorted(report.get("strategies", {}).items())]
    activity_id = report.get("activityId")
    return model.DailyReport(
        day=report["day"], currency=report.get("currency", ""), net_liquidation_open=report["netLiquidationOpen"],
        net_liquidation_close=report["netLiquidationClose"], net_liquidation_change=report["netLiquidationChange"],
        total_pnl=report["totalPnl"], commissions=report["commissions"], fills=report["fills"],
        failures=report["failures"], differences=len(report.get("differences", {})), strategies=strategies,
        activity_id=activity_id, url=url_of(activity_id) if activity_id else None)


def _total(values: Iterable[float | None]) -> float | None:
    values = list(values)
    return None if any(v is None for v in values) else round(sum(values), 2)


class _LedgerTotals:
    """The part of Ledger that `ledger_totals` and `ledger_differences` read, over holdings already read: the
    comparison is made on the same read of the ledger as the holdings the page shows beside it."""

    def __init__(self, holdings: Mapping[str, Mapping[int, int]]):
        self._holdings = holdings

    def all_holdings(self) -> Mapping[str, Mapping[int, int]]:
        return self._holdings


def ledger_vs_broker(holdings: Mapping[str, Mapping[int, int]], positions: list[BrokerPosition], account: str,
                     names: Mapping[int, str], *, source: str, as_of: str | None) -> model.LedgerVsBroker:
    """Every contract the ledger or the broker holds; `differs` as reconciliation decides it (ledger_differences)."""
    ledger = _LedgerTotals(holdings)
    totals = ledger_totals(ledger)
    broker, broker_names = broker_positions(positions, account)
    differing = {d["conId"] for d in ledger_differences(ledger, positions, account).values()}
    rows = [model.Comparison(con_id=con_id, local_symbol=broker_names.get(con_id) or names.get(con_id, str(con_id)),
                             ledger=totals.get(con_id, 0), broker=broker.get(con_id, 0),
                             difference=broker.get(con_id, 0) - totals.get(con_id, 0), differs=con_id in differing)
            for con_id in sorted({*totals, *broker}) if totals.get(con_id, 0) or broker.get(con_id, 0)]
    return model.LedgerVsBroker(source=source, as_of=as_of, rows=rows, differences=len(differing))


def order_ref_activity(order_ref: str, order_intents: Iterable[str]) -> str | None:
    """The activity id in an orderRef the service writes (`{intent}-{activityId}`, e.g. `close-all-{id}`) for one
    of the intents that place orders; None for any other orderRef."""
    for intent in sorted(order_intents, key=len, reverse=True):
        rest = (order_ref or "").removeprefix(f"{intent}-")
        if rest != order_ref and ACTIVITY_ID.fullmatch(rest):
            return rest
    return None


def working_orders(broker: list[BrokerWorkingOrder], records: list[dict], account: str,
                   service_activities: Mapping[str, str], names: Mapping[int, str]) -> list[model.WorkingOrder]:
    """The broker's open orders, each the service's or another's, then the ledger's records the broker does not
    list.

    Args:
        records: the ledger's open order records.
        service_activities: {orderRef: activity id} for the orderRefs that name one of the service's runs.
    """
    by_perm = {r["permId"]: r for r in records if r.get("permId")}
    by_key = {(r["clientId"], r["orderId"]): r for r in records}
    orders, matched = [], set()
    for order in broker:
        if account and order.account and order.account != account:
            continue
        record = by_perm.get(order.perm_id) if order.perm_id else None
        record = record or by_key.get((order.client_id, order.order_id))
        if record is not None:
            matched.add((record["clientId"], record["orderId"]))
        activity = service_activities.get(order.order_ref)
        owner = "service" if record is not None or activity else "other"
        orders.append(model.WorkingOrder(
            owner=owner, listed_by_broker=True, perm_id=order.perm_id, client_id=order.client_id,
            order_id=order.order_id, con_id=order.con_id, local_symbol=order.local_symbol, action=order.action,
            total_quantity=order.total_quantity, filled=order.filled, status=order.status,
            order_type=order.order_type, limit_price=order.limit_price, order_ref=order.order_ref,
            strategies=dict(record["source"]) if record else {}, activity_id=activity))
    unlisted = [r for r in records if (r["clientId"], r["orderId"]) not in matched]
    return orders + ledger_orders(unlisted, service_activities, names)


def ledger_orders(records: list[dict], service_activities: Mapping[str, str],
                  names: Mapping[int, str]) -> list[model.WorkingOrder]:
    """The ledger's records as working orders of the service that the broker does not list (all of them while the
    broker is away)."""
    return [model.WorkingOrder(
        owner="service", listed_by_broker=False, perm_id=r.get("permId", 0), client_id=r["clientId"],
        order_id=r["orderId"], con_id=r["conId"], local_symbol=names.get(r["conId"], str(r["conId"])),
        action="BUY" if r["quantity"] > 0 else "SELL", total_quantity=abs(r["quantity"]),
        filled=float(abs(sum(r.get("allocated", {}).values()))),
        status=r.get("status", ""), order_type="LMT" if "limitPrice" in r else "MKT",
        limit_price=r.get("limitPrice"), order_ref=r.get("orderRef", ""), strategies=dict(r["source"]),
        activity_id=service_activities.get(r.get("orderRef", ""))) for r in records]


def runs(activity: list[Document], intents: Iterable[str], url_of) -> model.Runs:
    """The latest runs of each intent that records activity (an intent never run is listed without runs), then any
    other intent the documents name.

    Args:
        activity: activity documents, newest first.
        intents: the names of the intents that leave activity documents.
        url_of: activity id -> the URL of its document.
    """
    grouped: dict[str, list[model.Run]] = {name: [] for name in intents}
    for doc in activity:
        name = str(doc.data.get("intent", "?"))
        grouped.setdefault(name, [])
        if len(grouped[name]) < RUNS_PER_INTENT:
            grouped[name].append(_run(doc, url_of(doc.id)))
    return model.Runs(scanned=len(activity),
                      intents=[model.IntentRuns(intent=name, runs=items) for name, items in grouped.items()])


def _run(doc: Document, url: str) -> model.Run:
    data = doc.data
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    outcome = result.get("status") if isinstance(result.get("status"), str) else None
    if result.get("alertTriggered") is True:
        outcome = "alert"
    error = data.get("exception")
    trigger = data.get("trigger") if isinstance(data.get("trigger"), dict) else {}
    return model.Run(
        id=doc.id, intent=str(data.get("intent", "?")), status=str(data.get("status", "?")), outcome=outcome,
        started_at=str(data.get("startedAt", "")), finished_at=data.get("finishedAt"),
        duration_seconds=_duration(data.get("startedAt"), data.get("finishedAt")),
        trigger=model.Trigger(kind=str(trigger.get("kind", "unknown")), job_name=trigger.get("jobName"),
                              schedule_time=trigger.get("scheduleTime"), user_agent=trigger.get("userAgent")),
        error=str(error)[:ERROR_CHARS] if error else None, url=url)


def _duration(started: str | None, finished: str | None) -> float | None:
    try:
        return round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None
