"""`close-all`: cancel the service's working orders (never anyone else's) and flatten every position the ledger
holds (or only the listed strategies'), counting the orders left working, with orders recorded and confirmed as in
`allocation`."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Annotated, Callable

from ib_async import Contract
from pydantic import AfterValidator

from intents.allocation import fetch_prices
from intents.base import DryRun, Intent, OrderParams, Seconds
from lib.broker import market_data
from lib.broker.account import net_liquidation as account_net_liquidation
from lib.broker.instruments import ByConId
from lib.broker.parsing import ContractInfo
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import ServiceError
from lib.gateway.port import BridgePort
from lib.params import CommaList, StrategyName, absent, invalid
from lib.store.port import DocumentStore
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, adaptive_priority, send_recorded
from lib.trading.confirmation import confirm_positions, crosses_zero
from lib.trading.ledger import in_flight_by_contract
from lib.trading.reconciliation import broker_positions, catch_up
from lib.trading.cancels import cancel_orders
from lib.trading.run_claims import RunClaim, StrategyLocks
from lib.trading.sizing import ConsolidatedTrade, closing_quantity, consolidate
from strategies.plan import PlannedOrder, net_orders_of

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ClosingRun:
    """Who closes: the collaborators of the run, its activity id (which names its orders) and its duplicate-run
    claim (None for a dry run), and how long its strategy locks outlive its budget."""

    bridge: BridgePort
    store: DocumentStore
    mode: str
    clock: Callable[[], datetime]
    run_id: str | None
    claim: RunClaim | None
    claim_margin_s: float


def close_strategies(run: ClosingRun, config: TradingConfig, deadline: Deadline, strategies: list[str] | None, *,
                     dry_run: bool) -> dict:
    """Cancel the working orders of `strategies` (None: every strategy in the ledger) and flatten their holdings;
    a real run locks those strategies while it trades them."""
    if dry_run:
        return _close(run, config, deadline, strategies, dry_run)
    ledger = Ledger(run.store, run.mode)
    locked = strategies or sorted(
        set(ledger.all_holdings()) | {s for order in ledger.open_orders() for s in order["source"]})
    locks = StrategyLocks(run.store, run.mode, run.claim_margin_s)
    with locks.holding(locked, run.run_id, run.clock(), deadline.remaining_s()):
        return _close(run, config, deadline, strategies, dry_run)


def _close(run: ClosingRun, config: TradingConfig, deadline: Deadline, chosen: list[str] | None, dry_run: bool) -> dict:
    account = config.get("account", "")
    ledger = Ledger(run.store, run.mode)
    # a close sized from a ledger IB does not confirm opens the opposite position: such contracts are left alone
    confirmed = confirm_positions(run.bridge, ledger, account, run.clock, deadline, "close-all")
    snapshot = confirmed.settled.snapshot
    records = ledger.open_orders()
    to_cancel = [o for o in records if chosen is None or set(o["source"]) & set(chosen)]
    result = {"status": "dryRun" if dry_run else "done", "unconfirmed": confirmed.report(), "cancelled": [],
              "leftWorking": []}
    refused: list[dict] = []
    if dry_run:
        # what a real run would cancel, and the closing trades if every cancel succeeds
        result["cancelled"] = [_summary(o) for o in to_cancel]
        book = ledger.view()
        working = {}
    else:
        if to_cancel:
            outcome = cancel_orders(run.bridge, run.store, run.mode, to_cancel, run.run_id,
                                    timeout_s=max(0.5, deadline.remaining_s() / 3))
            result["cancelled"] = [_summary(o) for o in outcome.cancelled]
            refused = outcome.left_working
            # fills that raced the cancels belong in the holdings before the closing trades are sized
            snapshot, _ = catch_up(run.bridge, ledger, account, run.clock(), deadline.remaining_s())
        book = ledger.view()
        working = book.in_flight
        result["leftWorking"] = [_left_working(o, refused) for o in book.orders
                                 if chosen is None or set(o["source"]) & set(chosen)]
        if result["leftWorking"]:
            log.warning("close-all: %d order(s) left working", len(result["leftWorking"]),
                        extra={"fields": {"leftWorking": result["leftWorking"]}})
    closing = closing_trades(book.holdings, working, chosen)
    broker, _ = broker_positions(snapshot.positions, account)
    account_working = in_flight_by_contract(book.in_flight)
    contracts = _contracts(run, list(closing), deadline)
    planned = _checked(run, config, deadline, snapshot, closing, contracts)
    checked = []
    for order in planned:
        con_id, quantity = order.trade.con_id, order.trade.quantity
        reason = confirmed.refusal(con_id) or order.refused
        if reason is None and crosses_zero(broker.get(con_id, 0), quantity, account_working.get(con_id, 0)):
            reason = (f"not sent: {order.trade.action} {abs(quantity)} would take the account's position of "
                      f"{broker.get(con_id, 0)} {order.contract.local_symbol} past zero")
        if reason is not None and reason != order.refused:
            log.error("close-all does not close %s: %s", order.contract.local_symbol, reason)
        checked.append(replace(order, refused=reason))
    result["closingTrades"] = [order.report() for order in checked]
    if dry_run:
        result["orders"] = []
        return result
    orders = [StrategyOrder(contracts[o.trade.con_id], o.trade.quantity, o.trade.source) for o in checked
              if o.refused is None]
    style = OrderStyle(order_ref=f"close-all-{run.run_id}", priority=adaptive_priority(config), account=account)
    result["orders"] = send_recorded(run.bridge, ledger, orders, style, deadline, lambda: run.clock().isoformat(),
                                     SendResult(), run.claim).reports
    return result


def _checked(run: ClosingRun, config: TradingConfig, deadline: Deadline, snapshot, closing: dict,
             contracts: dict[int, Contract]) -> list[PlannedOrder]:
    """The closing trades as planned orders, each refused above `maxOrderNotional` (at the price read now)."""
    if not closing:
        return []
    max_notional = config.number("maxOrderNotional", None)
    infos = {c: ContractInfo.from_contract(contract) for c, contract in contracts.items()}
    if max_notional is None:
        return [PlannedOrder(trade, infos[c], None) for c, trade in closing.items()]
    _, base = account_net_liquidation(snapshot.account_values, config.get("account", ""))
    priced = run.bridge.run(partial(fetch_prices, contracts=list(contracts.values()), base=base,
                                    market_data_type=int(config.get("marketDataType", 1)),
                                    today=trading_date(run.clock())), timeout_s=deadline.remaining_s())
    fx = {c: priced.fx[info.currency] for c, info in infos.items()}
    return net_orders_of(closing, infos, priced.prices, fx, max_notional)


def _summary(record: dict) -> dict:
    return {"permId": record.get("permId"), "orderId": record["orderId"], "clientId": record["clientId"],
            "conId": record["conId"], "source": record["source"]}


def _left_working(record: dict, refused: list[dict]) -> dict:
    """A record still in flight after the cancels, with what is left of it and why (`refused`: the records the
    cancels left working, each with its reason)."""
    reasons = {(o["clientId"], o["orderId"]): o["reason"] for o in refused}
    remaining = {s: q - record.get("allocated", {}).get(s, 0) for s, q in record["source"].items()}
    reason = reasons.get((record["clientId"], record["orderId"])) or (
        "IB has not reported this order's end yet (not listed as working, not yet completed)")
    return {**_summary(record), "remaining": remaining, "status": record.get("status"), "reason": reason,
            "closing": "its remaining quantity is counted as if it fills: the closing trade never takes the "
                       "strategy past zero"}


def closing_trades(holdings: dict[str, dict[int, int]], working: dict[str, dict[int, int]],
                   chosen: list[str] | None) -> dict[int, ConsolidatedTrade]:
    """The netted trades that close the `chosen` strategies (None: all in `holdings`), per conId, counting the
    strategies' orders left `working` so that none is taken past zero (`closing_quantity`)."""
    strategies = sorted(holdings) if chosen is None else chosen
    trades = {s: {c: closing_quantity(q, working.get(s, {}).get(c, 0)) for c, q in holdings.get(s, {}).items() if q}
              for s in strategies}
    closing = consolidate(trades)
    return {con_id: trade for con_id, trade in closing.items() if trade.quantity}


def _contracts(run: ClosingRun, con_ids: list[int], deadline: Deadline) -> dict[int, Contract]:
    if not con_ids:
        return {}
    resolved = run.bridge.run(partial(market_data.resolve, instruments=[ByConId(c) for c in con_ids],
                                      today=trading_date(run.clock())), timeout_s=deadline.remaining_s())
    contracts = {}
    for instrument, contract in resolved.items():
        if isinstance(contract, Exception):
            raise ServiceError(f"cannot close conId {instrument.con_id}: {contract}")
        contracts[instrument.con_id] = contract
    return contracts


def _named(strategies: list[str]) -> list[str]:
    if not strategies:
        raise invalid("must name at least one strategy when given")
    return strategies


class CloseAllParams(OrderParams):
    strategies: Annotated[list[StrategyName], CommaList, AfterValidator(_named)] = absent(
        schema={"minItems": 1}, examples=[["dummy"]],
        description="only the positions of these strategies (as the ledger names them); default: every strategy in "
                    "the ledger")
    dry_run: DryRun = False
    timeout_seconds: Seconds = 120.0


class CloseAll(Intent):
    """Parameters: CloseAllParams."""

    name = "close-all"
    description = ("cancels the service's working orders (never an order it did not place) and flattens every "
                   "position the ledger holds, or only those of `strategies`, counting the orders left working; "
                   "never trades a contract whose ledger total IB does not confirm, never sends a close that takes "
                   "the account's position past zero, and refuses closes above `maxOrderNotional`")
    Params = CloseAllParams
    places_orders = True
    conflicts = "another run is trading the same strategies"

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        run = ClosingRun(self.bridge, self.store, self.settings.trading_mode, self.clock, self.activity_id,
                         self.claim, self.settings.claim_margin_s)
        return close_strategies(run, config, deadline, params.get("strategies"), dry_run=params["dryRun"])
