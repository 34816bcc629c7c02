"""IB clientIds of the service: a fixed pool, one id per worker, taken back by a worker that replaces one.

IB lets a client cancel only the orders "placed originally by a client with the same client ID" (TWS API,
"Cancelling Orders"): the id, not the connection, so a new connection under an id reaches that id's open orders
(reqOpenOrders answers those "placed by this specific API client (identified by the API client id)"). A worker that
died leaves its orders working under its id: a pool of one id per gunicorn worker lets its replacement take that id
back, and with it the orders, where ever-new ids would leave them beyond every worker's reach.
"""
from __future__ import annotations

from itertools import cycle, islice
from typing import Iterator


def pool(base: int, size: int) -> list[int]:
    """The service's clientIds: base .. base + size - 1.

    Raises:
        ValueError: a negative base or a size below 1.
    """
    if base < 0:
        raise ValueError(f"clientIds are not negative: base={base}")
    if size < 1:
        raise ValueError(f"the clientId pool needs at least one id, got size {size}")
    return list(range(base, base + size))


def worker_client_ids(base: int, size: int, worker_age: int) -> Iterator[int]:
    """The pool's ids in the order this worker tries them, endlessly: its own slot first ((worker_age - 1) modulo
    the pool, so workers 1..size start apart and a replacement starts where the worker it replaces began), then the
    next ids round the pool. IB answers 326 for an id another connection holds; the bridge then moves on.

    Args:
        base, size: the pool (`pool`).
        worker_age: gunicorn's worker age, 1 for the first worker and one more for every worker spawned after.
    """
    ids = pool(base, size)
    start = (worker_age - 1) % size
    return cycle(islice(cycle(ids), start, start + size))
