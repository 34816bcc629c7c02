"""Order, execution and position records the broker keeps, and the events it emits about them."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from datetime import datetime

# the realised PnL IB reports for a fill that only opens or adds (Java's Double.MAX_VALUE, its "unset")
NO_REALIZED_PNL = sys.float_info.max


@dataclass
class OrderRequest:
    """What a placeOrder carried, in the subset the simulator models.

    Parameters:
        action: BUY or SELL.
        total_quantity: units to trade (shares, contracts, base-currency amount for forex).
        order_type: MKT, LMT, STP, STP LMT, TRAIL, MOC or LOC (order_types.ORDER_TYPES; others are rejected).
        lmt_price: limit price (None when not set).
        tif: DAY, GTC, IOC, GTD or OPG (MKT/LMT at the opening auction).
        good_after_time: IB time text ("YYYYMMDD HH:MM:SS zone" or "YYYYMMDD-HH:MM:SS" UTC); held until then.
        good_till_date: IB time text; a GTD order is cancelled at that time.
        order_ref, outside_rth, account, algo_strategy, algo_params: echoed back as IB does.
        transmit: False holds the order until it is transmitted (by a modification or a transmitting child).
        parent_id: a child order works only once its parent has filled.
        aux_price: the stop price of STP / STP LMT, the trailing amount of TRAIL (None when not set).
        trailing_percent: a TRAIL's trailing distance in percent of the price (None when not set).
        trail_stop_price: a TRAIL's current stop price; it ratchets with the favourable price.
        oca_group, oca_type: the One-Cancels-All group and how a fill in it treats the others (1 cancel,
            2 and 3 reduce).
        trigger_method: IB's triggerMethod (0 = the default for the instrument).
        extra: further order fields the protocol layer keeps (e.g. "exchange", the routing asked for).
    """

    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    tif: str = "DAY"
    good_after_time: str = ""
    good_till_date: str = ""
    order_ref: str = ""
    outside_rth: bool = False
    account: str = ""
    algo_strategy: str = ""
    algo_params: list[tuple[str, str]] = field(default_factory=list)
    transmit: bool = True
    parent_id: int = 0
    aux_price: float | None = None
    trailing_percent: float | None = None
    trail_stop_price: float | None = None
    oca_group: str = ""
    oca_type: int = 0
    trigger_method: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class OrderRecord:
    """One order as the broker tracks it.

    Parameters:
        client_id, order_id: the placing client's key for the order.
        perm_id: the broker-wide permanent id.
        contract: the ContractSpec traded (a conId when the catalog no longer knows it).
        request: the order's current terms.
        status: PendingSubmit | PreSubmitted | Submitted | Filled | Cancelled | Inactive.
        filled, remaining, avg_fill_price, last_fill_price: fill progress.
        why_held: IB's reason text for a held order ("" when none).
        placed_at, completed_at: UTC times of placement and of reaching a final status.
        completed_status: final status text as IB's completed orders carry it ("Filled", "Cancelled by Trader").
        warning_text: text reported with the order (a rejection reason).
        reject_reason: why the order was rejected ("" when it was not).
        fill_pieces: executions the order is split into (fixed at its first fill; 0 before).
        fill_count: executions so far.
        reject_on_submit: (code, text) of a rejection IB sends once the order is Submitted (an armed fault).
        day_ends_at: UTC time a DAY order expires (the close of the session it works in); None for other tifs.
        api: placed through the API (False: entered in TWS by a person).
        reactivates_at_s: an Inactive order IB takes up again at this monotonic time (None: not held so).
        cancel_race: share of the rest that fills before a PendingCancel takes effect (None: no race).
        triggered: a stop-variant order's stop was elected (it now works as a market or limit order).
        auction_at: UTC time of the auction a MOC/LOC/OPG order fills in (None for other orders).
    """

    client_id: int
    order_id: int
    perm_id: int
    contract: object
    request: OrderRequest
    status: str = "PendingSubmit"
    filled: float = 0.0
    remaining: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    why_held: str = ""
    placed_at: datetime | None = None
    completed_at: datetime | None = None
    completed_status: str = ""
    warning_text: str = ""
    reject_reason: str = ""
    fill_pieces: int = 0
    fill_count: int = 0
    reject_on_submit: tuple | None = None
    day_ends_at: datetime | None = None
    api: bool = True
    reactivates_at_s: float | None = None
    cancel_race: float | None = None
    triggered: bool = False
    auction_at: datetime | None = None

    @property
    def con_id(self) -> int:
        contract = self.contract
        return contract if isinstance(contract, int) else contract.con_id

    @property
    def is_working(self) -> bool:
        """Still an open order at IB: working, being cancelled, or Inactive while IB means to take it up again."""
        return self.status in WORKING_STATUSES or (self.status == "Inactive" and self.reactivates_at_s is not None)


WORKING_STATUSES = frozenset({"PendingSubmit", "PreSubmitted", "Submitted", "PendingCancel"})


@dataclass
class Execution:
    """One fill, as execDetails and commissionReport carry it.

    Parameters:
        exec_id: unique, deterministic id ("0000e0d5.00000001.01.01").
        order_id, client_id, perm_id: the order filled.
        con_id, symbol, sec_type: the contract traded.
        time: UTC time of the fill.
        account, exchange: where it happened.
        side: BOT or SLD.
        shares, price: this fill; cum_qty, avg_price: the order's totals including it.
        commission, commission_currency: charged for this fill.
        realized_pnl: PnL realised by this fill (NO_REALIZED_PNL for a fill that only opens or adds).
        corrects: the execId this execution corrects ("" for an original).
        superseded_by: the execId of the correction that replaced this execution ("" while it stands).
    """

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    time: datetime
    account: str
    exchange: str
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str = ""
    ev_rule: str = ""
    ev_multiplier: float = 0.0
    model_code: str = ""
    last_liquidity: int = 1
    commission: float = 0.0
    commission_currency: str = "USD"
    realized_pnl: float = NO_REALIZED_PNL
    symbol: str = ""
    sec_type: str = ""
    corrects: str = ""
    superseded_by: str = ""


@dataclass
class Position:
    """A position as reqPositions reports it.

    Parameters:
        con_id: the contract held.
        quantity: signed units (negative = short).
        avg_cost: IB-style average cost per unit: price times multiplier, commissions included.
        realized_pnl: PnL realised on this contract so far (commissions included), in its currency.
    """

    con_id: int
    quantity: float
    avg_cost: float
    realized_pnl: float = 0.0


@dataclass
class PortfolioItem:
    """A portfolio line as updatePortfolio carries it (amounts in the contract's currency).

    Parameters:
        con_id, position, market_price, market_value, average_cost, unrealized_pnl, realized_pnl, currency.
    """

    con_id: int
    position: float
    market_price: float
    market_value: float
    average_cost: float
    unrealized_pnl: float
    realized_pnl: float
    currency: str = "USD"


@dataclass
class OrderChanged:
    """An order's state or terms changed: its client gets openOrder + orderStatus."""

    order: OrderRecord


@dataclass
class ExecutionAdded:
    """An order filled (partly): its client gets execDetails + commissionReport."""

    execution: Execution


@dataclass
class OrderRejected:
    """An order request failed: its client gets error(orderId, code, text)."""

    order: OrderRecord
    code: int
    text: str


@dataclass
class OrderWarned:
    """IB has a warning about a working order: its client gets error(orderId, code, text); the order goes on."""

    order: OrderRecord
    code: int
    text: str


@dataclass
class AccountChanged:
    """Cash or positions changed: account subscribers get fresh values, portfolio and positions."""


Event = OrderChanged | ExecutionAdded | OrderRejected | OrderWarned | AccountChanged


def request_to_state(request: OrderRequest) -> dict:
    state = dataclasses.asdict(request)
    state["algo_params"] = [list(pair) for pair in request.algo_params]
    return state


def request_from_state(state: dict) -> OrderRequest:
    values = dict(state)
    values["algo_params"] = [tuple(pair) for pair in values.get("algo_params", [])]
    return OrderRequest(**values)


def _time_to_state(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time_from_state(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


_RECORD_TIMES = ("placed_at", "completed_at", "day_ends_at", "auction_at")


def record_to_state(record: OrderRecord) -> dict:
    state = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)
             if f.name not in ("contract", "request", *_RECORD_TIMES)}
    state.update(con_id=record.con_id, request=request_to_state(record.request),
                 **{name: _time_to_state(getattr(record, name)) for name in _RECORD_TIMES})
    return state


def record_from_state(state: dict, contract) -> OrderRecord:
    values = {k: v for k, v in state.items() if k != "con_id"}
    values.update(contract=contract, request=request_from_state(state["request"]),
                  **{name: _time_from_state(state.get(name)) for name in _RECORD_TIMES})
    return OrderRecord(**values)


def execution_to_state(execution: Execution) -> dict:
    state = dataclasses.asdict(execution)
    state["time"] = execution.time.isoformat()
    return state


def execution_from_state(state: dict) -> Execution:
    return Execution(**{**state, "time": datetime.fromisoformat(state["time"])})
