"""IB clientId candidates: each gunicorn worker walks its own disjoint sequence."""
from __future__ import annotations

from itertools import count
from typing import Iterator


def worker_client_ids(base: int, worker_index: int, span: int = 100) -> Iterator[int]:
    """Yield base + worker_index, then base + worker_index + span, ... (endless).

    Workers whose indexes differ and are below `span` never share an id, so IB error 326 (clientId in use) only
    happens when something outside this service holds an id; the bridge then moves on to the worker's next
    candidate. Indexes at or above `span` still work but may meet another worker's later candidates.

    Args:
        base: first clientId of the service.
        worker_index: this worker's index (0, 1, ...).
        span: distance between a worker's successive candidates; the most workers the ids keep apart.

    Raises:
        ValueError: a negative base or worker_index, or a span below 1.
    """
    if base < 0 or worker_index < 0:
        raise ValueError(f"clientIds are not negative: base={base}, worker_index={worker_index}")
    if span < 1:
        raise ValueError(f"span must be at least 1, got {span}")
    return count(base + worker_index, span)
