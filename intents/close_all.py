"""`close-all`: cancel the service's working orders and flatten every position the ledger holds (or only the
listed strategies'), with orders recorded and confirmed as in `allocation`."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Callable

from ib_insync import IB, Contract
from pydantic import AfterValidator

from intents.base import DryRun, Intent, OrderParams, Seconds
from lib.broker import market_data
from lib.broker.instruments import ByConId
from lib.config import TradingConfig
from lib.deadline import Deadline
from lib.errors import ServiceError
from lib.gateway import ib_requests
from lib.gateway.port import BridgePort
from lib.params import CommaList, StrategyName, absent, invalid
from lib.store.port import DocumentStore
from lib.trading.ledger import Ledger
from lib.trading.market_calendar import trading_date
from lib.trading.order_flow import OrderStyle, SendResult, StrategyOrder, adaptive_priority, send_recorded
from lib.trading.reconciliation import catch_up, ledger_differences
from lib.trading.run_claims import StrategyLocks
from lib.trading.sizing import ConsolidatedTrade, consolidate

log = logging.getLogger(__name__)

CANCEL_POLL_S = 0.1


async def cancel_and_wait(ib: IB, orders: list[dict], everything: bool, timeout_s: float) -> dict:
    """Cancel the given recorded orders (all orders of the account with `everything`), then wait until the broker
    no longer lists them as open.

    IB lets a client cancel only the orders it placed; reqGlobalCancel reaches every client's. So orders another
    worker placed are cancelled with reqGlobalCancel when that cancels nothing else, and reported otherwise.
    """
    targets = {order["permId"] for order in orders if order.get("permId")}
    not_cancellable = []
    broker_open = {t.order.permId for t in await ib_requests.all_open_orders(ib)}
    mine = {(t.order.clientId, t.order.orderId): t for t in ib.trades()}
    foreign = [o for o in orders if o["clientId"] != ib.client.clientId or (o["clientId"], o["orderId"]) not in mine]
    if everything or (foreign and broker_open <= targets):
        ib.reqGlobalCancel()
    else:
        for order in orders:
            if order in foreign:
                not_cancellable.append(order)
            else:
                ib.cancelOrder(mine[(order["clientId"], order["orderId"])].order)
        targets -= {order.get("permId") for order in not_cancellable}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        still_open = {t.order.permId for t in await ib_requests.all_open_orders(ib)} & targets
        if not still_open or loop.time() >= deadline:
            break
        await asyncio.sleep(CANCEL_POLL_S)
    return {"stillOpen": sorted(still_open), "notCancellable": not_cancellable}


@dataclass(frozen=True)
class ClosingRun:
    """Who closes: the collaborators of the run and its activity id (which names its orders)."""

    bridge: BridgePort
    store: DocumentStore
    mode: str
    clock: Callable[[], datetime]
    run_id: str | None


def close_strategies(run: ClosingRun, config: TradingConfig, deadline: Deadline, strategies: list[str] | None, *,
                     dry_run: bool) -> dict:
    """Cancel the working orders of `strategies` (None: every strategy in the ledger) and flatten their holdings;
    a real run locks those strategies while it trades them."""
    if dry_run:
        return _close(run, config, deadline, strategies, dry_run)
    ledger = Ledger(run.store, run.mode)
    locked = strategies or sorted(
        set(ledger.all_holdings()) | {s for order in ledger.open_orders() for s in order["source"]})
    with StrategyLocks(run.store, run.mode).holding(locked, run.run_id, run.clock(), deadline.remaining_s()):
        return _close(run, config, deadline, strategies, dry_run)


def _close(run: ClosingRun, config: TradingConfig, deadline: Deadline, chosen: list[str] | None, dry_run: bool) -> dict:
    account = config.get("account", "")
    ledger = Ledger(run.store, run.mode)
    snapshot, _ = catch_up(run.bridge, ledger, account, run.clock(), deadline.remaining_s())
    warnings = []
    differences = ledger_differences(ledger, snapshot.positions, account)
    if differences:
        warnings.append({"ledgerBrokerDifferences": differences})
        log.warning("close-all: ledger and broker positions differ", extra={"fields": {"differences": differences}})
    to_cancel = [o for o in ledger.open_orders() if chosen is None or set(o["source"]) & set(chosen)]
    result = {"status": "dryRun" if dry_run else "done", "warnings": warnings,
              "cancelled": [{"permId": o.get("permId"), "orderId": o["orderId"], "conId": o["conId"],
                             "source": o["source"]} for o in to_cancel]}
    if to_cancel and not dry_run:
        outcome = run.bridge.run(partial(cancel_and_wait, orders=to_cancel, everything=chosen is None,
                                         timeout_s=max(0.5, deadline.remaining_s() / 3)),
                                 timeout_s=deadline.remaining_s())
        if outcome["notCancellable"] or outcome["stillOpen"]:
            warnings.append({"notCancelled": outcome})
        # fills that raced the cancels belong in the holdings before the closing trades are sized
        catch_up(run.bridge, ledger, account, run.clock(), deadline.remaining_s())
    closing = closing_trades(ledger.all_holdings(), chosen)
    contracts = _contracts(run, list(closing), deadline)
    result["closingTrades"] = [{**trade.as_record(), "localSymbol": contracts[c].localSymbol,
                                "action": trade.action} for c, trade in closing.items()]
    if dry_run:
        result["orders"] = []
        return result
    orders = [StrategyOrder(contracts[c], trade.quantity, trade.source) for c, trade in closing.items()]
    style = OrderStyle(order_ref=f"close-all-{run.run_id}", priority=adaptive_priority(config), account=account)
    result["orders"] = send_recorded(run.bridge, ledger, orders, style, deadline, lambda: run.clock().isoformat(),
                                     SendResult()).reports
    return result


def closing_trades(holdings: dict[str, dict[int, int]], chosen: list[str] | None) -> dict[int, ConsolidatedTrade]:
    """The netted trades that bring the `chosen` strategies (None: all in `holdings`) to zero, per conId."""
    strategies = sorted(holdings) if chosen is None else chosen
    closing = consolidate({s: {c: -q for c, q in holdings.get(s, {}).items() if q} for s in strategies})
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
    description = ("cancels the service's working orders and flattens every position the ledger holds, or only "
                   "those of `strategies`; warns when ledger and broker disagree")
    Params = CloseAllParams
    places_orders = True
    conflicts = "another run is trading the same strategies"

    def execute(self, params: dict, config: TradingConfig, deadline: Deadline) -> dict:
        run = ClosingRun(self.bridge, self.store, self.settings.trading_mode, self.clock, self.activity_id)
        return close_strategies(run, config, deadline, params.get("strategies"), dry_run=params["dryRun"])
