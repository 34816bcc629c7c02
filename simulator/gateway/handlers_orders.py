"""Request handlers for orders and executions: place, cancel, open/completed orders, executions, ids."""

from __future__ import annotations

from simulator.engine import ib_messages
from simulator.engine.broker import OrderRequest
from simulator.engine.catalog import Catalog
from simulator.engine.ib_time import TWS_TIME_ZONE
from simulator.engine.trade_log import window_start
from simulator.gateway.handlers_market import resolve_one
from simulator.gateway.order_validation import validation_error
from simulator.gateway.session import Session
from simulator.protocol import messages, messages_orders
from simulator.protocol.messages_orders import OrderView
from simulator.protocol.requests_orders import (
    CancelOrder, PlaceOrder, ReqAllOpenOrders, ReqAutoOpenOrders, ReqCompletedOrders, ReqExecutions,
    ReqGlobalCancel, ReqIds, ReqOpenOrders)
from simulator.protocol.wire import format_ib_datetime


def order_spec(catalog: Catalog, record):
    """The ContractSpec of an order record (records may hold the spec or only its conId)."""
    contract = record.contract
    return catalog.by_con_id(contract) if isinstance(contract, int) else contract


def order_view(record) -> OrderView:
    """Snapshot of a broker order record in the terms order messages use."""
    request = record.request
    extra = getattr(request, "extra", {}) or {}
    completed_at = getattr(record, "completed_at", None)
    return OrderView(
        order_id=record.order_id, client_id=record.client_id, perm_id=record.perm_id,
        action=request.action, total_quantity=request.total_quantity, order_type=request.order_type,
        status=record.status, lmt_price=request.lmt_price, aux_price=request.aux_price,
        tif=request.tif, account=request.account, order_ref=request.order_ref,
        outside_rth=request.outside_rth,
        good_after_time=request.good_after_time, good_till_date=request.good_till_date,
        oca_group=request.oca_group, oca_type=request.oca_type, trigger_method=request.trigger_method,
        trail_stop_price=request.trail_stop_price, trailing_percent=request.trailing_percent,
        hidden=bool(extra.get("hidden", False)),
        parent_id=request.parent_id, algo_strategy=request.algo_strategy,
        algo_params=list(request.algo_params),
        filled=record.filled, remaining=record.remaining, avg_fill_price=record.avg_fill_price,
        last_fill_price=record.last_fill_price, why_held=record.why_held or "",
        warning_text=getattr(record, "warning_text", "") or "",
        completed_time=format_ib_datetime(completed_at, TWS_TIME_ZONE) if completed_at else "",
        completed_status=getattr(record, "completed_status", "") or "")


def order_exchange(record) -> str | None:
    """The exchange the client routed the order to (echoed in order messages)."""
    extra = getattr(record.request, "extra", {}) or {}
    return extra.get("exchange") or None


def open_order_messages(session: Session, record, view: OrderView | None = None) -> list:
    """openOrder + orderStatus for one order as this session's client sees it."""
    view = view or order_view(record)
    spec = order_spec(session.world.catalog, record)
    session.highest_order_id_shown = max(session.highest_order_id_shown, view.order_id)
    return [messages_orders.open_order(session.server_version, view, spec, exchange=order_exchange(record)),
            messages_orders.order_status(session.server_version, view)]


def execution_messages(session: Session, req_id: int, execution, *, with_commission: bool = True) -> list:
    """execDetails + commissionReport for one execution (execDetails alone while its report is withheld)."""
    spec = session.world.catalog.by_con_id(execution.con_id)
    time_text = format_ib_datetime(execution.time, TWS_TIME_ZONE)
    details = messages_orders.exec_details(session.server_version, req_id, execution, spec, time_text)
    return [details, messages_orders.commission_report(execution)] if with_commission else [details]


def _order_request(fields, default_exchange: str) -> OrderRequest:
    o = fields.order
    extra = {"exchange": fields.contract.exchange or default_exchange}
    if o.hidden:
        extra["hidden"] = True
    if o.cash_qty is not None:
        extra["cash_qty"] = o.cash_qty
    if o.conditions_count:
        extra["conditions_count"] = o.conditions_count
    return OrderRequest(
        action=o.action, total_quantity=o.total_quantity, order_type=o.order_type, lmt_price=o.lmt_price,
        tif=o.tif or "DAY", good_after_time=o.good_after_time, good_till_date=o.good_till_date,
        order_ref=o.order_ref, outside_rth=o.outside_rth, account=o.account, algo_strategy=o.algo_strategy,
        algo_params=list(o.algo_params), transmit=o.transmit, parent_id=o.parent_id, aux_price=o.aux_price,
        trailing_percent=o.trailing_percent, trail_stop_price=o.trail_stop_price, oca_group=o.oca_group,
        oca_type=o.oca_type, trigger_method=o.trigger_method, extra=extra)


def _handle_place_order(session: Session, request: PlaceOrder) -> None:
    refusal = validation_error(request)
    if refusal is not None:
        session.error(request.order_id, *refusal)
        return
    spec = resolve_one(session, request.order_id, request.contract)
    if spec is None:
        return
    order_request = _order_request(request, spec.exchange)
    if request.order.what_if:
        session.send(*what_if_messages(session, request.order_id, spec, order_request))
        return
    world = session.world
    restart = world.faults.take("restart", lambda values: values["when"] == "next-order")
    if restart is not None:
        # the gateway goes down as the order arrives: IB never gets it and nothing answers it
        session.host.restart(restart["seconds"])
        return
    if world.broker.order(session.client_id, request.order_id) is None:
        floor = max(world.broker.highest_order_id(session.client_id), session.highest_order_id_shown)
        if request.order_id <= floor:
            # IB takes a new order only under an id above every id the client used and every id it was shown
            # in openOrder (TWS API, "Placing Orders": The Next Valid Identifier); message codes: 103
            session.error(request.order_id, *ib_messages.DUPLICATE_ORDER_ID)
            return
        silent = world.faults.take("silent-order")
        if silent is not None and silent["lost"]:
            return
        if silent is not None:
            session.host.silence(session.client_id, request.order_id)
    session.host.broker_call(world.broker.place_order, session.client_id, request.order_id, spec, order_request)
    session.host.schedule_match()


def what_if_messages(session: Session, order_id: int, spec, order_request: OrderRequest) -> list:
    """A margin preview answered as IB does: an openOrder with whatIf set and the margin fields filled
    (none after sending error 201 when the order would be rejected)."""
    try:
        preview = session.world.broker.preview_order(spec, order_request)
    except ValueError as exc:
        session.error(order_id, 201, str(exc))
        return []
    view = OrderView(
        order_id=order_id, client_id=session.client_id, perm_id=0, action=order_request.action,
        total_quantity=order_request.total_quantity, order_type=order_request.order_type,
        status="PreSubmitted", lmt_price=order_request.lmt_price, tif=order_request.tif,
        account=order_request.account or session.world.account, order_ref=order_request.order_ref,
        what_if=True, margin=preview["margin"], commission=preview["commission"],
        commission_currency=preview["commission_currency"], warning_text=preview.get("warning_text", ""))
    return [messages_orders.open_order(session.server_version, view, spec,
                                       exchange=order_request.extra.get("exchange"))]


def _handle_cancel_order(session: Session, request: CancelOrder) -> None:
    session.host.broker_call(session.world.broker.cancel_order, session.client_id, request.order_id)


def _handle_global_cancel(session: Session, request: ReqGlobalCancel) -> None:
    session.host.broker_call(session.world.broker.global_cancel)


def _send_open_orders(session: Session, records: list) -> None:
    batch = []
    for record in records:
        batch += open_order_messages(session, record)
    batch.append(messages_orders.open_order_end())
    session.send(*batch)


def _handle_open_orders(session: Session, request: ReqOpenOrders) -> None:
    _send_open_orders(session, session.world.broker.open_orders(session.client_id))


def _handle_all_open_orders(session: Session, request: ReqAllOpenOrders) -> None:
    _send_open_orders(session, session.world.broker.open_orders(None))


def _handle_auto_open_orders(session: Session, request: ReqAutoOpenOrders) -> None:
    if session.client_id != 0:
        session.error(-1, 321, "Error validating request:-'ba' : cause - Auto-binding of orders is only "
                               "allowed for client id 0")
        return
    session.auto_open_orders = request.auto_bind


def _reported_since(session: Session):
    return window_start(session.world.clock.now(), session.host.execution_days)


def _handle_completed_orders(session: Session, request: ReqCompletedOrders) -> None:
    world = session.world
    records = world.broker.completed_orders(since=_reported_since(session), api_only=request.api_only)
    batch = [messages_orders.completed_order(session.server_version, order_view(record),
                                             order_spec(world.catalog, record), exchange=order_exchange(record))
             for record in records]
    batch.append(messages_orders.completed_orders_end())
    session.send(*batch)


def _handle_executions(session: Session, request: ReqExecutions) -> None:
    executions = session.world.broker.executions(
        client_id=request.client_id, account=request.account, time=request.time, symbol=request.symbol,
        sec_type=request.sec_type, exchange=request.exchange, side=request.side,
        reported_since=_reported_since(session), current_only=True)
    batch = []
    for execution in executions:
        batch += execution_messages(session, request.req_id, execution,
                                    with_commission=not session.host.commission_withheld(execution.exec_id))
    if session.hang_executions:
        # a handshake-hang fault at the "executions" stage: the connection's first answer never ends
        session.hang_executions = False
    else:
        batch.append(messages_orders.exec_details_end(request.req_id))
    session.send(*batch)


def _handle_req_ids(session: Session, request: ReqIds) -> None:
    first = session.host.broker_call(session.world.broker.reserve_ids, session.client_id, max(request.num_ids, 1))
    session.host.save_state()
    session.send(messages.next_valid_id(first))


HANDLERS = {
    PlaceOrder: _handle_place_order,
    CancelOrder: _handle_cancel_order,
    ReqGlobalCancel: _handle_global_cancel,
    ReqOpenOrders: _handle_open_orders,
    ReqAllOpenOrders: _handle_all_open_orders,
    ReqAutoOpenOrders: _handle_auto_open_orders,
    ReqCompletedOrders: _handle_completed_orders,
    ReqExecutions: _handle_executions,
    ReqIds: _handle_req_ids,
}
