"""One dashboard answer: the store's view, the broker's when the gateway answers, composed into the panels. When
the broker cannot be read the answer is the store's view with a banner saying so, never an error."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from lib.dashboard import model, panels, store_view
from lib.broker.account import net_liquidation
from lib.broker.account_view import AccountView, account_view
from lib.broker.parsing import BrokerPosition
from lib.errors import GatewayTimeout, GatewayUnavailable, IBError, ServiceError
from lib.store.port import Document
from lib.trading.market_calendar import trading_date

# the page waits this long for a reconnecting gateway, then this long for the broker's answer, before it shows
# the store's view
READY_WAIT_S = 1.0
BROKER_READ_S = 10.0


@dataclass(frozen=True)
class Intents:
    """What the dashboard knows of the intents (main.py hands it the registry's names).

    Attributes:
        recorded: the intents that leave activity documents, in the order the page lists them.
        ordering: the intents that place orders (their orderRef is `{intent}-{activityId}`).
    """

    recorded: tuple[str, ...]
    ordering: tuple[str, ...]


def read_broker(services) -> tuple[AccountView | None, str | None]:
    """The broker's view, or None and why it could not be read."""
    try:
        bridge = services.bridge
    except GatewayUnavailable as exc:
        return None, str(exc)
    if not bridge.wait_ready(READY_WAIT_S):
        return None, f"IB Gateway is not connected ({bridge.status().get('lastError') or 'connecting'})"
    try:
        return bridge.run(account_view, timeout_s=BROKER_READ_S), None
    except (GatewayUnavailable, GatewayTimeout, IBError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def collect(services, intents: Intents, now: datetime, url_of: Callable[[str], str]) -> model.Dashboard:
    """The dashboard of `services` (its store, settings and bridge) as of `now`.

    Args:
        url_of: activity id -> the URL of its document.
    """
    mode = services.settings.trading_mode
    view = store_view.read(services.store, mode)
    account = str(view.config.get("account", "") or "")
    broker, read_error = read_broker(services)
    if broker is not None:
        positions = broker.positions
        portfolio = [line for line in broker.portfolio if not account or line.account == account]
        source, as_of = "broker", broker.broker_time.isoformat()
    else:
        positions, portfolio = _snapshot_positions(view.snapshot, account), []
        source, as_of = ("snapshot", view.snapshot.get("takenAt")) if view.snapshot else ("none", None)
    names = panels.symbols(positions, portfolio)
    refs = {order.order_ref for order in (broker.working_orders if broker else [])}
    refs |= {record.get("orderRef", "") for record in view.open_orders}
    service_activities = _service_activities(services.store, refs, intents.ordering, view.activity)
    if broker is not None:
        orders = model.WorkingOrders(source="broker", orders=panels.working_orders(
            broker.working_orders, view.open_orders, account, service_activities, names))
    else:
        orders = model.WorkingOrders(source="ledger", orders=panels.ledger_orders(
            view.open_orders, service_activities, names))
    comparison = (panels.ledger_vs_broker(view.holdings, positions, account, names, source=source, as_of=as_of)
                  if source != "none" else model.LedgerVsBroker(source="none", as_of=None, rows=[], differences=0))
    today = trading_date(broker.broker_time if broker else now)
    strategies = {**{s: {} for s in _configured_strategies(view.config)}, **view.holdings}
    return model.Dashboard(
        generated_at=now.isoformat(), trading=panels.trading(view.config, mode),
        gateway=_gateway(services.status(), broker, read_error),
        degraded=broker is None, banner=None if broker else _banner(read_error, view.snapshot), account=account,
        net_liquidation=panels.net_liquidation(view.samples, view.start, view.config, today,
                                               _current(broker, account)),
        strategies=panels.strategy_holdings(strategies, {line.con_id: line for line in portfolio}, names,
                                            view.cost_bases),
        daily_report=panels.daily_report(view.daily_report, url_of),
        ledger_vs_broker=comparison, working_orders=orders,
        runs=panels.runs(view.activity, intents.recorded, url_of))


def _snapshot_positions(snapshot: dict | None, account: str) -> list[BrokerPosition]:
    """`reconcile`'s saved positions, which are those of the configured account."""
    return [BrokerPosition(account, int(p["conId"]), str(p.get("localSymbol", p["conId"])), float(p["position"]),
                           float(p.get("avgCost") or 0.0))
            for p in (snapshot or {}).get("positions", [])]


def _service_activities(store, refs: Iterable[str], ordering: Iterable[str],
                        latest: list[Document]) -> dict[str, str]:
    """{orderRef: activity id} for the orderRefs that name a run of the service that exists in the store.

    Args:
        latest: activity documents already read, whose ids need no further read.
    """
    named = {ref: activity for ref in refs if (activity := panels.order_ref_activity(ref, ordering))}
    existing = store_view.existing_activities(store, set(named.values()), latest)
    return {ref: activity for ref, activity in named.items() if activity in existing}


def _configured_strategies(config) -> list[str]:
    strategies = config.get("exposure.strategies", {})
    return sorted(strategies) if isinstance(strategies, dict) else []


def _current(broker: AccountView | None, account: str) -> tuple[float, str] | None:
    if broker is None:
        return None
    try:
        return net_liquidation(broker.account_values, account)
    except ServiceError:
        return None


def _gateway(status: dict, broker: AccountView | None, read_error: str | None) -> model.Gateway:
    return model.Gateway(
        connected=bool(status.get("connected")), ready=bool(status.get("ready")), pid=os.getpid(),
        client_id=status.get("clientId"), reconnects=status.get("reconnects"), last_error=status.get("lastError"),
        server_version=status.get("serverVersion"),
        broker_time=broker.broker_time.isoformat() if broker else None, read_error=read_error)


def _banner(read_error: str | None, snapshot: dict | None) -> str:
    positions = (f"broker positions are reconcile's snapshot of {snapshot.get('takenAt')}" if snapshot
                 else "no broker positions are known (no reconcile has saved a snapshot)")
    return (f"The broker cannot be read ({read_error}). This is the store's view: {positions}; working orders are "
            f"the ledger's records; market values and PnL are unknown.")
