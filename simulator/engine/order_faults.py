"""What the order faults armed in a Faults registry do to one order: the warning it gets, the rejection that waits
for its submission."""

from __future__ import annotations

from simulator.engine import ib_messages
from simulator.engine.faults import Faults
from simulator.engine.orders import OrderRecord


def _default_warning_text(code: int, record: OrderRecord) -> str:
    if code == ib_messages.TIF_PRESET[0]:
        return ib_messages.TIF_PRESET[1]
    if code == ib_messages.OUTSIDE_RTH_IGNORED[0]:
        return ib_messages.OUTSIDE_RTH_IGNORED[1]
    request = record.request
    return ib_messages.order_message(request.action, request.total_quantity,
                                     ib_messages.contract_description(record.contract), ib_messages.REPRICED)


def armed_warning(faults: Faults, record: OrderRecord) -> tuple[int, str] | None:
    """(code, text) of the order-warning the next order gets, spending one use; None when none is armed."""
    values = faults.take("order-warning")
    if values is None:
        return None
    code = values["code"]
    return code, values["text"] or _default_warning_text(code, record)


def armed_rejection(faults: Faults) -> tuple[int, str] | None:
    """(code, text) of the order-reject the next order gets once Submitted, spending one use; None when none."""
    values = faults.take("order-reject")
    return None if values is None else (values["code"], values["text"])


def armed_inactivity(faults: Faults) -> float | None:
    """Seconds the next order stays Inactive (an inactive-then-active fault, spending one use), else None."""
    values = faults.take("inactive-then-active")
    return None if values is None else values["inactive_s"]


def armed_cancel_race(faults: Faults) -> float | None:
    """The share of an order that fills before its cancel (a cancel-race fault, spending one use), else None."""
    values = faults.take("cancel-race")
    return None if values is None else values["fill_fraction"]


def armed_correction(faults: Faults, execution, min_tick: float) -> dict | None:
    """The correction an execution gets later (an execution-correction fault, spending one use), else None:
    {"exec_id", "due_s", "shares", "price"}; by default the price moves one tick against the account."""
    values = faults.take("execution-correction")
    if values is None:
        return None
    worse = min_tick if execution.side == "BOT" else -min_tick
    return {"exec_id": execution.exec_id, "due_s": faults.monotonic() + values["delay_s"],
            "shares": values["quantity"] or execution.shares,
            "price": values["price"] or round(execution.price + worse, 10)}


def corrected_exec_id(exec_id: str) -> str:
    """The execId of a correction: the digits after the last period raised by one (IB's Execution.execId: "an
    ExecId ending in ".02" would be a correction of a previous execution with an ExecId ending in ".01")."""
    head, _, last = exec_id.rpartition(".")
    return f"{head}.{int(last) + 1:02d}"
