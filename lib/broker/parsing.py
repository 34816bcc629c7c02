"""ib_async objects in, plain data out: IB's order states, executions, orders, positions, contracts and the
account pictures the service reports. Pure: call the functions that read live ib_async objects on the IB loop."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from ib_async import Contract, Trade

# IB's order states (TWS API, Order Submission: "Possible Order States"). An order ends only when IB itself says so:
# orderStatus Filled, Cancelled or ApiCancelled, or a listing among the completed orders. Inactive is not an end
# by itself: IB sends it for an order it holds (locating shares, outside its hours) and may revive it, as well as
# for one it rejected (error 201 first), which it then lists among the completed orders.
WORKING_STATES = frozenset({"PreSubmitted", "Submitted", "PendingCancel"})
ENDED_STATES = frozenset({"Filled", "Cancelled", "ApiCancelled"})
CONFIRMED_STATES = WORKING_STATES | ENDED_STATES | {"Inactive"}
UNCONFIRMED = "Unconfirmed"


@dataclass(frozen=True)
class ExecutionFill:
    """One broker execution, as much of it as the ledger needs.

    Attributes:
        exec_id: IB's execution id, the exactly-once key.
        perm_id, order_id, client_id, order_ref: what identifies the order it belongs to.
        con_id: the contract traded.
        side: "BOT" or "SLD".
        shares: unsigned quantity of this execution.
        price: execution price in the contract's currency.
        time: ISO-8601 UTC time of the execution.
        commission: IB's commission for it, when its commission report had arrived (IB sends the report after
            the execution: EWrapper::commissionReport), else 0.
    """

    exec_id: str
    perm_id: int
    order_id: int
    client_id: int
    con_id: int
    order_ref: str
    side: str
    shares: float
    price: float
    time: str
    commission: float = 0.0

    @property
    def signed_shares(self) -> int:
        quantity = int(round(self.shares))
        return quantity if self.side == "BOT" else -quantity


def execution_fill(fill) -> ExecutionFill:
    """The ledger's view of an ib_async Fill."""
    execution = fill.execution
    return ExecutionFill(
        exec_id=execution.execId, perm_id=execution.permId, order_id=execution.orderId,
        client_id=execution.clientId, con_id=fill.contract.conId, order_ref=execution.orderRef or "",
        side=execution.side, shares=execution.shares, price=execution.price, time=execution.time.isoformat(),
        commission=_commission(fill))


def _commission(fill) -> float:
    # before its report arrives the library's CommissionReport is empty (0); IB marks an unknown value as
    # UNSET_DOUBLE (Double.MAX_VALUE)
    commission = getattr(fill.commissionReport, "commission", 0.0) or 0.0
    return commission if math.isfinite(commission) and abs(commission) < 1e300 else 0.0


@dataclass
class OrderOutcome:
    """What the broker said about one order by the time confirmation ended.

    Attributes:
        status: IB's own order status (never one ib_async set locally on an error or warning), or "Unconfirmed" when the
            deadline passed first.
        ended: IB reported the order's end (orderStatus Filled, Cancelled or ApiCancelled, or a listing among
            the completed orders); until then it may still fill.
        error_code, error: the last IB error attached to the order (e.g. 201 and its rejection text).
        warnings: every IB error message on the order ({"code", "message"}); on a working order they are notices
            (10349 "Order TIF was set to DAY based on order preset", 399, 2109), not its end.
        fills: executions already received for it.
    """

    con_id: int
    local_symbol: str
    action: str
    quantity: float
    order_id: int
    client_id: int
    perm_id: int
    order_ref: str
    order_type: str
    limit_price: float | None
    status: str
    filled: float
    remaining: float
    avg_fill_price: float
    ended: bool = False
    error_code: int = 0
    error: str = ""
    warnings: list[dict] = field(default_factory=list)
    fills: list[ExecutionFill] = field(default_factory=list)

    def to_dict(self) -> dict:
        """camelCase like the rest of the service's JSON."""
        data = _camel(asdict(self))
        data["fills"] = [_camel(asdict(fill)) for fill in self.fills]
        return data


def broker_status(trade: Trade) -> str:
    """The order's status as IB last reported it in an orderStatus message.

    ib_async 2.1 (wrapper.error) sets a status of its own on an error for the order's id: "Cancelled" for any
    code outside its list of warnings, though IB keeps working orders after non-fatal ones such as 10349 (fixed
    only on its next branch: ib_async#217), and "ValidationError" for the warnings in it (399 outside the
    session, 404 while IB locates shares, 321 on a modify). ib_insync 0.9.86 did the former with a shorter list
    (ib_insync#328 for 404). The trade log tells IB's word from the library's: an error's entry carries the error
    code, a fill's entry repeats whatever status the order had, a modify's entry ("Modify") is the library's, and
    the first entry (PendingSubmit) is the library's own.
    """
    for entry in reversed(trade.log):
        if not entry.errorCode and not entry.message.startswith("Fill") and entry.message != "Modify":
            return entry.status
    return "PendingSubmit"


def outcome(trade: Trade, status: str | None = None, *, ended: bool | None = None,
            filled: float | None = None) -> OrderOutcome:
    """The plain outcome of `trade`: IB's own status and filled quantity (ib_async's local statuses change
    neither of them but the status) unless given from IB's order lists; `ended` defaults to whether the status is an end."""
    errors = [entry for entry in trade.log if entry.errorCode]
    last_error = errors[-1] if errors else None
    status = status or broker_status(trade)
    filled = trade.orderStatus.filled if filled is None else filled
    return OrderOutcome(
        con_id=trade.contract.conId, local_symbol=trade.contract.localSymbol or trade.contract.symbol,
        action=trade.order.action, quantity=trade.order.totalQuantity, order_id=trade.order.orderId,
        client_id=trade.order.clientId, perm_id=trade.order.permId, order_ref=trade.order.orderRef,
        order_type=trade.order.orderType, limit_price=trade.order.lmtPrice if trade.order.orderType == "LMT" else None,
        status=status, filled=filled, remaining=trade.order.totalQuantity - filled,
        avg_fill_price=trade.orderStatus.avgFillPrice,
        ended=status in ENDED_STATES if ended is None else ended,
        error_code=last_error.errorCode if last_error else 0, error=last_error.message if last_error else "",
        warnings=[{"code": entry.errorCode, "message": entry.message} for entry in errors],
        fills=[execution_fill(f) for f in trade.fills])


@dataclass(frozen=True)
class BrokerExecution:
    fill: ExecutionFill
    local_symbol: str
    account: str


@dataclass(frozen=True)
class BrokerOrder:
    """An order the broker lists as open, as plain data."""

    perm_id: int
    client_id: int
    order_id: int
    local_symbol: str
    action: str
    total_quantity: float
    status: str
    order_ref: str

    def report(self) -> dict:
        return {"permId": self.perm_id, "clientId": self.client_id, "orderId": self.order_id,
                "localSymbol": self.local_symbol, "action": self.action, "totalQuantity": self.total_quantity,
                "status": self.status, "orderRef": self.order_ref}


@dataclass(frozen=True)
class BrokerPosition:
    account: str
    con_id: int
    local_symbol: str
    position: float
    avg_cost: float


@dataclass(frozen=True)
class BrokerSnapshot:
    """Executions, open orders, final states of completed orders (by permId), positions and account values of
    every client of the account, copied out of ib_async's live objects on the IB loop, and the gateway's clock
    (IB's executions and completed orders cover its current day)."""

    executions: list[BrokerExecution]
    open_orders: list[BrokerOrder]
    completed: dict[int, CompletedOrder]
    positions: list[BrokerPosition]
    account_values: list
    gateway_now: datetime | None = None


def broker_orders(trades) -> list[BrokerOrder]:
    """Plain copies of ib_async Trades; call on the IB loop."""
    return [BrokerOrder(t.order.permId, t.order.clientId, t.order.orderId,
                        t.contract.localSymbol or t.contract.symbol, t.order.action, t.order.totalQuantity,
                        t.orderStatus.status, t.order.orderRef) for t in trades]


def broker_execution(fill) -> BrokerExecution:
    return BrokerExecution(execution_fill(fill), fill.contract.localSymbol or fill.contract.symbol,
                           fill.execution.acctNumber)


def broker_position(position) -> BrokerPosition:
    return BrokerPosition(position.account, position.contract.conId,
                          position.contract.localSymbol or position.contract.symbol, position.position,
                          position.avgCost)


def latest_positions(positions) -> list:
    """One position per account and contract, the last one IB sent.

    reqPositions is a subscription: IB sends every position once, then an update whenever one changes (TWS API
    reference, EClient::reqPositions), and ib_async 2.1, as ib_insync 0.9.86 did, adds every `position` message
    that arrives while a positions request is open to that request's answer (wrapper.position). An update pushed for a fill just
    before IB handled the request arrives after it was sent, so the answer can list a contract twice or more
    (erdewit/ib_insync#575 shows one listed three times); summed, the broker would seem to hold twice the
    position. Messages arrive in the order IB sent them, so the last one per contract is the current one.
    """
    latest = {}
    for position in positions:
        latest[(position.account, position.contract.conId)] = position
    return list(latest.values())


@dataclass(frozen=True)
class CompletedOrder:
    """An order IB lists among the day's completed orders: its final status and the quantity it filled."""

    status: str
    filled: float


def completed_by_perm_id(completed_trades) -> dict[int, CompletedOrder]:
    """Each completed order by permId (IB's completed orders carry no orderId)."""
    return {t.order.permId: CompletedOrder(t.orderStatus.status, _filled_quantity(t.order))
            for t in completed_trades if t.order.permId}


def _filled_quantity(order) -> float:
    value = ib_number(order.filledQuantity)
    return value if value is not None else 0.0


@dataclass(frozen=True)
class ContractInfo:
    """The parts of a qualified contract that sizing, orders and reports need.

    Attributes:
        multiplier: units of the underlying per contract (MNQ 2.0); 1.0 when IB leaves it empty (stocks, FX).
        last_trade_date: "YYYYMMDD" for futures, "" otherwise.
    """

    con_id: int
    symbol: str
    local_symbol: str
    sec_type: str
    currency: str
    exchange: str
    multiplier: float = 1.0
    last_trade_date: str = ""

    @classmethod
    def from_contract(cls, contract: Contract) -> ContractInfo:
        """Raises ValueError for an unqualified contract (conId 0)."""
        if not contract.conId:
            raise ValueError(f"contract is not qualified (no conId): {describe_contract(contract)}")
        return cls(con_id=contract.conId, symbol=contract.symbol, local_symbol=contract.localSymbol,
                   sec_type=contract.secType, currency=contract.currency, exchange=contract.exchange,
                   multiplier=float(contract.multiplier) if contract.multiplier else 1.0,
                   last_trade_date=contract.lastTradeDateOrContractMonth)


def describe_contract(contract: Contract) -> str:
    name = contract.localSymbol or contract.symbol or (f"conId {contract.conId}" if contract.conId else "?")
    expiry = f" {contract.lastTradeDateOrContractMonth}" if contract.lastTradeDateOrContractMonth else ""
    return f"{name}{expiry}"


ACCOUNT_TAGS = ("NetLiquidation", "CashBalance", "MaintMarginReq")


def ib_number(value) -> float | None:
    """IB marks an absent double with a huge sentinel (UNSET_DOUBLE) or NaN; JSON gets null for those."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or abs(number) >= 1e300:
        return None
    return number


def _symbol(contract) -> str:
    return contract.localSymbol or contract.symbol or str(contract.conId)


def account_summary(account_values) -> dict:
    summary: dict = {tag: {} for tag in ACCOUNT_TAGS}
    for value in account_values:
        if value.tag in summary and value.currency:
            summary[value.tag][value.currency] = ib_number(value.value)
    return summary


def portfolio(items) -> dict:
    return {
        _symbol(item.contract): {
            "conId": item.contract.conId,
            "position": item.position,
            "exposure": ib_number(item.marketValue),
            "marketPrice": ib_number(item.marketPrice),
            "averageCost": ib_number(item.averageCost),
            "unrealizedPNL": ib_number(item.unrealizedPNL),
        }
        for item in items
        if item.position
    }


def open_trades(trades) -> dict:
    by_symbol = defaultdict(list)
    for trade in trades:
        order, status = trade.order, trade.orderStatus
        by_symbol[_symbol(trade.contract)].append({
            "orderId": order.orderId,
            "clientId": order.clientId,
            "permId": order.permId,
            "status": status.status,
            "whyHeld": status.whyHeld,
            "action": order.action,
            "totalQuantity": order.totalQuantity,
            "filled": status.filled,
            "orderType": order.orderType,
            "limitPrice": ib_number(order.lmtPrice),
            "tif": order.tif,
            "goodAfterTime": order.goodAfterTime,
            "goodTillDate": order.goodTillDate,
            "orderRef": order.orderRef,
        })
    return dict(by_symbol)


def fills(fill_list) -> dict:
    by_symbol = defaultdict(list)
    for fill in sorted(fill_list, key=lambda f: (f.execution.time, f.execution.execId)):
        execution, report = fill.execution, fill.commissionReport
        by_symbol[_symbol(fill.contract)].append({
            "execId": execution.execId,
            "orderId": execution.orderId,
            "clientId": execution.clientId,
            "side": execution.side,
            "shares": execution.shares,
            "price": execution.price,
            "cumQuantity": execution.cumQty,
            "avgPrice": execution.avgPrice,
            "time": execution.time.isoformat(),
            "commission": ib_number(report.commission) if report.execId else None,
            "realizedPNL": ib_number(report.realizedPNL) if report.execId else None,
        })
    return dict(by_symbol)


def _camel(data: dict) -> dict:
    return {_camel_name(key): value for key, value in data.items()}


def _camel_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
