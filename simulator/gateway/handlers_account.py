"""Request handlers for the account: updates, portfolio, positions, summary, multi-account views, PnL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from simulator.engine.ib_time import TWS_TIME_ZONE
from simulator.engine.world import World
from simulator.gateway.session import Session
from simulator.protocol import messages_account
from simulator.protocol.requests_account import (
    CancelAccountSummary, CancelAccountUpdatesMulti, CancelPnL, CancelPnLSingle, CancelPositions,
    CancelPositionsMulti, ReqAccountSummary, ReqAccountUpdates, ReqAccountUpdatesMulti, ReqPnL, ReqPnLSingle,
    ReqPositions, ReqPositionsMulti)

# per-currency cash ledger tags ($LEDGER in account summaries, ledgerAndNLV in multi updates)
LEDGER_TAGS = frozenset({
    "CashBalance", "TotalCashBalance", "AccruedCash", "StockMarketValue", "OptionMarketValue",
    "FutureOptionValue", "FuturesPNL", "NetLiquidationByCurrency", "UnrealizedPnL", "RealizedPnL",
    "ExchangeRate", "FundValue", "NetDividend", "MutualFundValue", "MoneyMarketFundValue",
    "CorporateBondValue", "TBondValue", "TBillValue", "WarrantValue", "FxCashBalance", "IssuerOptionValue"})


@dataclass(frozen=True)
class AccountSnapshot:
    """The account at one moment, computed once and shared by every subscriber.

    Parameters:
        account: the account code.
        base_currency: the account's base currency.
        values: (tag, value, currency) rows as updateAccountValue carries them.
        portfolio: broker PortfolioItems.
        positions: broker Positions.
        time: the clock time of the snapshot.
    """

    account: str
    base_currency: str
    values: tuple
    portfolio: tuple
    positions: tuple
    time: datetime

    def value(self, tag: str) -> float:
        """A base-currency value (0.0 when the broker does not report it)."""
        for row_tag, value, currency in self.values:
            if row_tag == tag and currency in (self.base_currency, "BASE"):
                try:
                    return float(value)
                except ValueError:
                    return 0.0
        return 0.0


def take_snapshot(world: World) -> AccountSnapshot:
    broker = world.broker
    return AccountSnapshot(
        account=world.account, base_currency=world.base_currency,
        values=tuple(tuple(row) for row in broker.account_values()), portfolio=tuple(broker.portfolio()),
        positions=tuple(broker.positions()), time=world.clock.now())


@dataclass(frozen=True)
class _ClosedItem:
    """A portfolio line for a position that was closed (reported once with zeros)."""

    con_id: int
    position: float = 0.0
    market_price: float = 0.0
    market_value: float = 0.0
    average_cost: float = 0.0
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0


def _account_time(snap: AccountSnapshot) -> str:
    return snap.time.astimezone(ZoneInfo(TWS_TIME_ZONE)).strftime("%H:%M")


def _portfolio_line(item) -> tuple:
    return (item.position, item.market_price, item.market_value, item.average_cost, item.unrealized_pnl,
            item.realized_pnl)


def _account_update_messages(session: Session, snap: AccountSnapshot, *, full: bool) -> list:
    subs = session.subs
    catalog = session.world.catalog
    batch = []
    for tag, value, currency in snap.values:
        if full or subs.account_values.get((tag, currency)) != value:
            batch.append(messages_account.account_value(tag, value, currency, snap.account))
            subs.account_values[(tag, currency)] = value
    current = {item.con_id: item for item in snap.portfolio}
    for con_id, item in current.items():
        line = _portfolio_line(item)
        if full or subs.portfolio.get(con_id) != line:
            batch.append(messages_account.portfolio_value(catalog.by_con_id(con_id), item, snap.account))
            subs.portfolio[con_id] = line
    for con_id in [c for c in subs.portfolio if c not in current]:
        # a closed position is reported once more with quantity 0, as TWS does
        spec = catalog.by_con_id(con_id)
        batch.append(messages_account.portfolio_value(spec, _ClosedItem(con_id), snap.account))
        del subs.portfolio[con_id]
    if batch or full:
        batch.append(messages_account.account_update_time(_account_time(snap)))
    return batch


def _handle_account_updates(session: Session, request: ReqAccountUpdates) -> None:
    subs = session.subs
    if not request.subscribe:
        subs.account_updates = False
        return
    snap = take_snapshot(session.world)
    subs.account_updates = True
    subs.account_values.clear()
    subs.portfolio.clear()
    batch = _account_update_messages(session, snap, full=True)
    batch.append(messages_account.account_download_end(snap.account))
    session.send(*batch)


def _position_lines(snap: AccountSnapshot) -> dict:
    return {p.con_id: (p.quantity, p.avg_cost) for p in snap.positions if p.quantity}


def _handle_positions(session: Session, request: ReqPositions) -> None:
    snap = take_snapshot(session.world)
    catalog = session.world.catalog
    lines = _position_lines(snap)
    batch = [messages_account.position(snap.account, catalog.by_con_id(con_id), qty, avg)
             for con_id, (qty, avg) in lines.items()]
    batch.append(messages_account.position_end())
    session.subs.positions = True
    session.subs.position_lines = lines
    session.send(*batch)


def _handle_cancel_positions(session: Session, request: CancelPositions) -> None:
    session.subs.positions = False


def _changed_positions(catalog, sent: dict, lines: dict, encode) -> list:
    batch = []
    for con_id, line in lines.items():
        if sent.get(con_id) != line:
            batch.append(encode(catalog.by_con_id(con_id), *line))
    for con_id in [c for c in sent if c not in lines]:
        batch.append(encode(catalog.by_con_id(con_id), 0.0, 0.0))
    return batch


def summary_rows(snap: AccountSnapshot, tags: str) -> list[tuple[str, str, str]]:
    """Rows (tag, value, currency) answering an account summary tag list, incl. $LEDGER[:CUR|:ALL]."""
    rows: list[tuple[str, str, str]] = []
    for tag in (t.strip() for t in tags.split(",")):
        if not tag:
            continue
        if tag.startswith("$LEDGER"):
            _, _, which = tag.partition(":")
            which = which.upper()
            for row_tag, value, currency in snap.values:
                if row_tag not in LEDGER_TAGS or not currency:
                    continue
                if (which == "ALL") or (not which and currency == "BASE") or currency == which:
                    rows.append((row_tag, value, currency))
            continue
        candidates = [(value, currency) for row_tag, value, currency in snap.values if row_tag == tag]
        for preferred in (snap.base_currency, "", "BASE"):
            match = next((c for c in candidates if c[1] == preferred), None)
            if match is not None:
                value, currency = match
                rows.append((tag, value, snap.base_currency if currency == "BASE" else currency))
                break
    return rows


def _handle_account_summary(session: Session, request: ReqAccountSummary) -> None:
    snap = take_snapshot(session.world)
    rows = summary_rows(snap, request.tags)
    session.subs.summaries[request.req_id] = (
        request.tags, {(tag, currency): value for tag, value, currency in rows})
    batch = [messages_account.account_summary(request.req_id, snap.account, tag, value, currency)
             for tag, value, currency in rows]
    batch.append(messages_account.account_summary_end(request.req_id))
    session.send(*batch)


def _handle_cancel_account_summary(session: Session, request: CancelAccountSummary) -> None:
    session.subs.summaries.pop(request.req_id, None)


def _multi_values(snap: AccountSnapshot, ledger_and_nlv: bool) -> dict:
    return {(tag, currency): value for tag, value, currency in snap.values
            if not ledger_and_nlv or tag in LEDGER_TAGS or tag == "NetLiquidation"}


def _account_matches(request_account: str, snap: AccountSnapshot) -> bool:
    return request_account in ("", "All", snap.account)


def _handle_account_updates_multi(session: Session, request: ReqAccountUpdatesMulti) -> None:
    snap = take_snapshot(session.world)
    values = _multi_values(snap, request.ledger_and_nlv) if _account_matches(request.account, snap) else {}
    session.subs.account_multi[request.req_id] = (request, values)
    batch = [messages_account.account_update_multi(request.req_id, snap.account, tag, value, currency,
                                                   request.model_code)
             for (tag, currency), value in values.items()]
    batch.append(messages_account.account_update_multi_end(request.req_id))
    session.send(*batch)


def _handle_cancel_account_updates_multi(session: Session, request: CancelAccountUpdatesMulti) -> None:
    session.subs.account_multi.pop(request.req_id, None)


def _handle_positions_multi(session: Session, request: ReqPositionsMulti) -> None:
    snap = take_snapshot(session.world)
    catalog = session.world.catalog
    lines = _position_lines(snap) if _account_matches(request.account, snap) else {}
    session.subs.positions_multi[request.req_id] = (request, lines)
    batch = [messages_account.position_multi(request.req_id, snap.account, catalog.by_con_id(con_id), qty,
                                             avg, request.model_code)
             for con_id, (qty, avg) in lines.items()]
    batch.append(messages_account.position_multi_end(request.req_id))
    session.send(*batch)


def _handle_cancel_positions_multi(session: Session, request: CancelPositionsMulti) -> None:
    session.subs.positions_multi.pop(request.req_id, None)


def _pnl_values(snap: AccountSnapshot) -> tuple[float, float, float]:
    unrealized = snap.value("UnrealizedPnL")
    realized = snap.value("RealizedPnL")
    # the simulated account starts each session flat, so the day's PnL is what it realised and holds
    return unrealized + realized, unrealized, realized


def _pnl_single_values(snap: AccountSnapshot, con_id: int) -> tuple:
    item = next((i for i in snap.portfolio if i.con_id == con_id), None)
    if item is None:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    return (item.position, item.unrealized_pnl + item.realized_pnl, item.unrealized_pnl, item.realized_pnl,
            item.market_value)


def _handle_pnl(session: Session, request: ReqPnL) -> None:
    values = _pnl_values(take_snapshot(session.world))
    session.subs.pnl[request.req_id] = values
    session.send(messages_account.pnl(session.server_version, request.req_id, *values))


def _handle_cancel_pnl(session: Session, request: CancelPnL) -> None:
    session.subs.pnl.pop(request.req_id, None)


def _handle_pnl_single(session: Session, request: ReqPnLSingle) -> None:
    values = _pnl_single_values(take_snapshot(session.world), request.con_id)
    session.subs.pnl_single[request.req_id] = (request.con_id, values)
    session.send(messages_account.pnl_single(session.server_version, request.req_id, *values))


def _handle_cancel_pnl_single(session: Session, request: CancelPnLSingle) -> None:
    session.subs.pnl_single.pop(request.req_id, None)


def refresh_account(session: Session, snap: AccountSnapshot, *, account_values: bool = True) -> None:
    """Send each account subscription what changed since it was last served.

    Positions and PnL go out whenever they change; account values, portfolio and summaries only when
    `account_values` (IB pushes them every three minutes, and when a position changes).
    """
    batch = _position_updates(session, snap) + _pnl_updates(session, snap)
    if account_values:
        batch = _account_value_updates(session, snap) + batch
    if batch:
        session.send(*batch)


def _account_value_updates(session: Session, snap: AccountSnapshot) -> list:
    subs = session.subs
    batch = []
    if subs.account_updates:
        batch += _account_update_messages(session, snap, full=False)
    for req_id, (tags, sent) in subs.summaries.items():
        rows = {(tag, currency): value for tag, value, currency in summary_rows(snap, tags)}
        batch += [messages_account.account_summary(req_id, snap.account, tag, value, currency)
                  for (tag, currency), value in rows.items() if sent.get((tag, currency)) != value]
        subs.summaries[req_id] = (tags, rows)
    for req_id, (request, sent) in subs.account_multi.items():
        values = (_multi_values(snap, request.ledger_and_nlv)
                  if _account_matches(request.account, snap) else {})
        batch += [messages_account.account_update_multi(req_id, snap.account, tag, value, currency,
                                                        request.model_code)
                  for (tag, currency), value in values.items() if sent.get((tag, currency)) != value]
        subs.account_multi[req_id] = (request, values)
    return batch


def _position_updates(session: Session, snap: AccountSnapshot) -> list:
    subs = session.subs
    catalog = session.world.catalog
    batch = []
    lines = _position_lines(snap)
    if subs.positions:
        batch += _changed_positions(
            catalog, subs.position_lines, lines,
            lambda spec, qty, avg: messages_account.position(snap.account, spec, qty, avg))
        subs.position_lines = lines
    for req_id, (request, sent) in subs.positions_multi.items():
        multi_lines = lines if _account_matches(request.account, snap) else {}
        batch += _changed_positions(
            catalog, sent, multi_lines,
            lambda spec, qty, avg, req_id=req_id, code=request.model_code:
                messages_account.position_multi(req_id, snap.account, spec, qty, avg, code))
        subs.positions_multi[req_id] = (request, multi_lines)
    return batch


def _pnl_updates(session: Session, snap: AccountSnapshot) -> list:
    subs = session.subs
    batch = []
    for req_id, sent in subs.pnl.items():
        values = _pnl_values(snap)
        if values != sent:
            batch.append(messages_account.pnl(session.server_version, req_id, *values))
            subs.pnl[req_id] = values
    for req_id, (con_id, sent) in subs.pnl_single.items():
        values = _pnl_single_values(snap, con_id)
        if values != sent:
            batch.append(messages_account.pnl_single(session.server_version, req_id, *values))
            subs.pnl_single[req_id] = (con_id, values)
    return batch


HANDLERS = {
    ReqAccountUpdates: _handle_account_updates,
    ReqPositions: _handle_positions,
    CancelPositions: _handle_cancel_positions,
    ReqAccountSummary: _handle_account_summary,
    CancelAccountSummary: _handle_cancel_account_summary,
    ReqAccountUpdatesMulti: _handle_account_updates_multi,
    CancelAccountUpdatesMulti: _handle_cancel_account_updates_multi,
    ReqPositionsMulti: _handle_positions_multi,
    CancelPositionsMulti: _handle_cancel_positions_multi,
    ReqPnL: _handle_pnl,
    CancelPnL: _handle_cancel_pnl,
    ReqPnLSingle: _handle_pnl_single,
    CancelPnLSingle: _handle_cancel_pnl_single,
}
