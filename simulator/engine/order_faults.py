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
