"""What IB holds of a run's orders, asked by the orderRef every order of the run carries."""
from __future__ import annotations

import asyncio

from lib.gateway import ib_requests


async def orders_with_ref(ib, order_ref: str) -> int:
    """How many distinct orders IB lists under `order_ref`: working (every client's open orders), completed today
    (API orders), or with executions today. Run on the IB loop."""
    open_trades, completed, fills = await asyncio.gather(
        ib_requests.all_open_orders(ib), ib_requests.completed_orders(ib), ib_requests.executions(ib))
    keys = {(t.order.permId or (t.order.clientId, t.order.orderId)) for t in [*open_trades, *completed]
            if t.order.orderRef == order_ref}
    keys |= {fill.execution.permId for fill in fills if fill.execution.orderRef == order_ref}
    return len(keys)
