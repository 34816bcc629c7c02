"""One-Cancels-All groups: which working orders a fill affects and how.

IB's OCA page (https://interactivebrokers.github.io/tws-api/oca.html) and its ocaType: 1 "Cancel all remaining orders
with block", 2 "Remaining orders are proportionately reduced in size with block", 3 "Remaining orders are
proportionately reduced in size with no block". Completion of one order cancels the others; a partial fill reduces
them by the quantity filled (type 2/3). The block only keeps IB from routing two of them at once, which a
one-fill-at-a-time matcher never does. An ocaType of 0 with a group set is taken as 1, the group's name-giving rule.

The children of one bracket parent form a group of their own without any ocaGroup (IB's bracket order page,
https://interactivebrokers.github.io/tws-api/bracket_order.html: the take-profit and the stop-loss are "OCA": when one
executes the other is cancelled); IB reduces the other child by what one fills, so a partial take-profit leaves a
stop for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.engine.orders import OrderRecord

CANCEL, REDUCE = "cancel", "reduce"


@dataclass
class OcaEffect:
    """What one fill does to another order of its group: `action` CANCEL, or REDUCE by `quantity`."""

    order: OrderRecord
    action: str
    quantity: float


def _same_group(record: OrderRecord, other: OrderRecord) -> bool:
    if other is record or not other.is_working or other.client_id != record.client_id:
        return False
    group = record.request.oca_group
    if group:
        return other.request.oca_group == group
    parent_id = record.request.parent_id
    return bool(parent_id) and not other.request.oca_group and other.request.parent_id == parent_id


def effects_of_fill(orders, record: OrderRecord, quantity: float) -> list[OcaEffect]:
    """How a fill of `quantity` of `record` affects the other working orders of its OCA group."""
    request = record.request
    if not request.oca_group and not request.parent_id:
        return []
    action = CANCEL if request.oca_group and request.oca_type in (0, 1) else REDUCE
    return [OcaEffect(other, action, quantity) for other in orders if _same_group(record, other)]
