"""What the broker reports: positions, cash, account values, portfolio, open and completed orders, executions."""

from __future__ import annotations

from datetime import datetime

from simulator.engine.account import account_values, portfolio_items, positions, value_account
from simulator.engine.ib_time import parse_ib_time
from simulator.engine.orders import Execution, OrderRecord, PortfolioItem, Position


class BrokerViews:
    """The broker's read side (a mixin of Broker: it reads the broker's ledger, market, orders and executions)."""

    def positions(self) -> list[Position]:
        return positions(self.ledger)

    def cash(self) -> dict[str, float]:
        return dict(self.ledger.cash)

    def account_values(self) -> list[tuple[str, str, str]]:
        return account_values(value_account(self.ledger, self.market, self.base_currency), self.account)

    def portfolio(self) -> list[PortfolioItem]:
        return portfolio_items(self.ledger, self.market)

    def has_work(self) -> bool:
        """Whether matching has anything to do: working orders, or corrections waiting to be sent."""
        return bool(self._corrections) or any(r.is_working for r in self._orders.values())

    def order(self, client_id: int, order_id: int) -> OrderRecord | None:
        """The order a client placed under this id, if any."""
        return self._orders.get((client_id, order_id))

    def open_orders(self, client_id: int | None) -> list[OrderRecord]:
        """Working orders of one client (None = every client), in placement order."""
        return [r for r in self._orders.values()
                if r.is_working and (client_id is None or r.client_id == client_id)]

    def completed_orders(self, *, since: datetime | None = None, api_only: bool = False) -> list[OrderRecord]:
        """Filled, cancelled and rejected orders, in placement order: those completed at or after `since` (None:
        all), placed through the API only when `api_only`."""
        return [r for r in self._orders.values() if not r.is_working
                and (since is None or r.completed_at is None or r.completed_at >= since)
                and (r.api or not api_only)]

    def executions(self, *, client_id: int = 0, account: str = "", time: str = "", symbol: str = "",
                   sec_type: str = "", exchange: str = "", side: str = "",
                   reported_since: datetime | None = None, current_only: bool = False) -> list[Execution]:
        """The account's executions of every client matching an IB ExecutionFilter (0 / "" = any).

        `time` keeps executions at or after it ("YYYYMMDD HH:MM:SS [zone]", TWS's zone when none; or
        "YYYYMMDD-HH:MM:SS" UTC); `side` is BUY/SELL (BOT/SLD also accepted); `reported_since` is the start of
        what TWS reports (trade_log.window_start; None: everything kept); `current_only` leaves out executions a
        correction replaced, as IB reports them.

        Raises:
            ValueError: `time` is not a time IB accepts.
        """
        since = parse_ib_time(time)
        if reported_since is not None:
            since = reported_since if since is None else max(since, reported_since)
        wanted_side = {"BUY": "BOT", "SELL": "SLD"}.get(side.upper(), side.upper())

        def matches(e: Execution) -> bool:
            return ((not client_id or e.client_id == client_id)
                    and (not account or e.account == account)
                    and (since is None or e.time >= since)
                    and (not symbol or e.symbol.upper() == symbol.upper())
                    and (not sec_type or e.sec_type.upper() == sec_type.upper())
                    and (not exchange or e.exchange.upper() == exchange.upper())
                    and (not wanted_side or e.side == wanted_side)
                    and not (current_only and e.superseded_by))

        return [e for e in self._executions if matches(e)]
