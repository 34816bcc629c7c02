"""Delivery of broker events to the sessions concerned, and the quote and account refreshes every session gets."""

from __future__ import annotations

import contextlib
import logging
from typing import Callable

from simulator.engine.broker import AccountChanged, Event, ExecutionAdded, OrderChanged, OrderRejected
from simulator.engine.world import World
from simulator.gateway.handlers_account import refresh_account, take_snapshot
from simulator.gateway.handlers_market import refresh_tickers
from simulator.gateway.handlers_orders import execution_messages, open_order_messages, order_view
from simulator.gateway.server import GatewayServer
from simulator.gateway.session import Session

log = logging.getLogger(__name__)


@contextlib.contextmanager
def isolated(session: Session, what: str):
    """Log and contain a failure while serving one session, so the other sessions are still served."""
    try:
        yield
    except Exception:
        log.exception("%s for clientId %s failed", what, session.client_id)


def fills_before_status(pending: list[tuple]) -> list[tuple]:
    """Broker events in emission order, except that each execution moves ahead of the first status change
    of its order that already counts it, so a client sees the fill before the order turns (partly) Filled."""
    result = list(pending)
    for item in [p for p in pending if p[0] == "execution"]:
        execution = item[2]
        current = next(i for i, p in enumerate(result) if p is item)
        target = next((i for i, (kind, client_id, payload) in enumerate(result)
                       if kind == "order" and client_id == execution.client_id
                       and payload[1].order_id == execution.order_id
                       and payload[1].filled >= execution.cum_qty - 1e-9), None)
        if target is not None and target < current:
            result.insert(target, result.pop(current))
    return result


def stream_quotes(sessions: list[Session]) -> None:
    """Send each session's market data subscriptions what changed since their last update."""
    for session in sessions:
        with isolated(session, "streaming quotes"):
            refresh_tickers(session)


class Fanout:
    """Collects the broker's events during a broker call and delivers them to the sessions concerned after it.

    Parameters:
        world: the engine objects (account views are built from them).
        server: the registry of sessions by clientId.
        save_state: called after a delivery that changed orders, executions or the account.
    """

    def __init__(self, world: World, server: GatewayServer, save_state: Callable[[], None]):
        self._world = world
        self._server = server
        self._save_state = save_state
        self._pending: list[tuple] = []
        self._account_dirty = False

    def on_broker_event(self, event: Event) -> None:
        # order records change as the broker works: snapshot them now, deliver after the broker call
        if isinstance(event, ExecutionAdded):
            self._pending.append(("execution", event.execution.client_id, event.execution))
        elif isinstance(event, OrderChanged):
            self._pending.append(("order", event.order.client_id, (event.order, order_view(event.order))))
        elif isinstance(event, OrderRejected):
            rejection = (event.order.order_id, event.code, event.text)
            self._pending.append(("reject", event.order.client_id, rejection))
        elif isinstance(event, AccountChanged):
            self._account_dirty = True
        else:
            log.warning("unrouted broker event %r", event)

    def _targets(self, client_id: int) -> list[Session]:
        sessions = []
        owner = self._server.session_for(client_id)
        if owner is not None:
            sessions.append(owner)
        # clientId 0 with auto-binding acts as the master client and hears every order
        sessions += [s for s in self._server.sessions() if s.auto_open_orders and s is not owner]
        return sessions

    def deliver(self) -> int:
        """Send pending order/execution events to the clients concerned; returns how many there were."""
        pending, self._pending = self._pending, []
        mutated = bool(pending) or self._account_dirty
        for kind, client_id, payload in fills_before_status(pending):
            for session in self._targets(client_id):
                with isolated(session, f"delivering {kind}"):
                    if kind == "execution":
                        session.send(*execution_messages(session, -1, payload))
                    elif kind == "order":
                        record, view = payload
                        session.send(*open_order_messages(session, record, view))
                    else:
                        order_id, code, text = payload
                        session.error(order_id, code, text)
        if mutated:
            self._account_dirty = False
            self.refresh_accounts()
            self._save_state()
        return len(pending)

    def refresh_accounts(self) -> None:
        """Send every session's account subscriptions what changed (one snapshot shared by all)."""
        sessions = self._server.sessions()
        if not sessions:
            return
        snap = take_snapshot(self._world)
        for session in sessions:
            with isolated(session, "refreshing account views"):
                refresh_account(session, snap)
