"""Delivery of broker events to the sessions concerned, and the quote and account refreshes every session gets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Callable

from simulator.engine.broker import AccountChanged, Event, ExecutionAdded, OrderChanged, OrderRejected, OrderWarned
from simulator.engine.world import World
from simulator.gateway.handlers_account import refresh_account, take_snapshot
from simulator.gateway.handlers_data import refresh_streams
from simulator.gateway.handlers_market import refresh_tickers
from simulator.gateway.handlers_orders import execution_messages, open_order_messages, order_view
from simulator.gateway.server import GatewayServer
from simulator.gateway.session import Session
from simulator.protocol import messages, messages_orders

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
            refresh_streams(session)


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
        # routed since the last save: a hold keeps _pending filled, and each match tick would rewrite the file
        self._unsaved = False
        self._held = False
        self._silenced: set[tuple[int, int]] = set()
        self.withheld: set[str] = set()

    def silence(self, client_id: int, order_id: int) -> None:
        """Deliver nothing about this order, ever (a silent-order fault)."""
        self._silenced.add((client_id, order_id))

    def on_broker_event(self, event: Event) -> None:
        # order records change as the broker works: snapshot them now, deliver after the broker call
        subject = getattr(event, "order", None) or getattr(event, "execution", None)
        if subject is not None and (subject.client_id, subject.order_id) in self._silenced:
            return
        if isinstance(event, ExecutionAdded):
            self._pending.append(("execution", event.execution.client_id, event.execution))
        elif isinstance(event, OrderChanged):
            self._pending.append(("order", event.order.client_id, (event.order, order_view(event.order))))
        elif isinstance(event, (OrderRejected, OrderWarned)):
            message = (event.order.order_id, event.code, event.text)
            self._pending.append(("error", event.order.client_id, message))
        elif isinstance(event, AccountChanged):
            self._account_dirty = True
        else:
            log.warning("unrouted broker event %r", event)
            return
        self._unsaved = True

    def _targets(self, client_id: int) -> list[Session]:
        sessions = []
        owner = self._server.session_for(client_id)
        if owner is not None:
            sessions.append(owner)
        # clientId 0 with auto-binding acts as the master client and hears every order
        sessions += [s for s in self._server.sessions() if s.auto_open_orders and s is not owner]
        return sessions

    def hold(self) -> None:
        """Keep events instead of sending them (IB's servers are out of reach: existing orders work on, "execution
        reports ... will be delayed until the reset is complete", IB's message codes page on 1100)."""
        self._held = True

    def release(self) -> None:
        """Send what was held, then everything as it happens again."""
        self._held = False
        self.deliver()

    def deliver(self) -> int:
        """Send pending order/execution events to the clients concerned; returns how many there were."""
        if self._held:
            if self._unsaved:
                self._save()
            return 0
        pending, self._pending = self._pending, []
        mutated = bool(pending) or self._account_dirty
        # one write per session: what one broker call did reaches a client in one piece, as from IB Gateway
        batches: dict[Session, list] = {}
        for kind, client_id, payload in fills_before_status(pending):
            withheld = kind == "execution" and self._withhold_commission(client_id, payload)
            for session in self._targets(client_id):
                with isolated(session, f"encoding {kind}"):
                    batches.setdefault(session, []).extend(self._messages(session, kind, payload, withheld))
        for session, batch in batches.items():
            with isolated(session, "delivering broker events"):
                session.send(*batch)
        if self._account_dirty:
            # a position change makes IB push account values and portfolio at once, not at the next interval
            self._account_dirty = False
            self.refresh_accounts()
        if mutated:
            self._save()
        return len(pending)

    def _save(self) -> None:
        self._unsaved = False
        self._save_state()

    def _withhold_commission(self, client_id: int, execution) -> bool:
        """A commission-delay fault: keep the execution's commission report back for a while."""
        values = self._world.faults.take("commission-delay")
        if values is None:
            return False
        self.withheld.add(execution.exec_id)
        asyncio.get_running_loop().call_later(values["delay_s"], self._send_commission, client_id, execution)
        return True

    def _send_commission(self, client_id: int, execution) -> None:
        self.withheld.discard(execution.exec_id)
        for session in self._targets(client_id):
            with isolated(session, "sending a delayed commission report"):
                session.send(messages_orders.commission_report(execution))

    @staticmethod
    def _messages(session: Session, kind: str, payload, withheld: bool = False) -> list:
        if kind == "execution":
            return execution_messages(session, -1, payload, with_commission=not withheld)
        if kind == "order":
            record, view = payload
            return open_order_messages(session, record, view)
        order_id, code, text = payload
        return [messages.error(session.server_version, order_id, code, text)]

    def refresh_accounts(self, *, account_values: bool = True) -> None:
        """Send every session's account subscriptions what changed (one snapshot shared by all); account values,
        portfolio and summaries only when `account_values`."""
        sessions = self._server.sessions()
        if not sessions or self._held:
            return
        snap = take_snapshot(self._world)
        for session in sessions:
            with isolated(session, "refreshing account views"):
                refresh_account(session, snap, account_values=account_values)
