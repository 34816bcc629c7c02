"""In-memory DocumentStore for unit tests, and the reference evaluation of queries in Python."""
from __future__ import annotations

import copy
import functools
import operator
import threading
from typing import Any, Callable, Iterable

from lib.store.limits import DocumentPath
from lib.store.port import Document, DocumentStore, Transaction, auto_id, canonical_json
from lib.store.query import Filter, Query
from lib.store.writes import Write, apply_write

_MISSING = object()
_RANGE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def field_value(data: dict, path: tuple[str, ...]) -> Any:
    """The value at a field path, or _MISSING."""
    node: Any = data
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return _MISSING
        node = node[name]
    return node


def type_rank(value: Any) -> int:
    """Firestore's order of types: null < bool < number < string < array < map."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, (int, float)):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, list):
        return 4
    return 5


def compare_values(a: Any, b: Any) -> int:
    """-1, 0 or 1: by type rank, then by value (arrays and maps by their canonical JSON text)."""
    rank_a, rank_b = type_rank(a), type_rank(b)
    if rank_a != rank_b:
        return -1 if rank_a < rank_b else 1
    if rank_a == 0:
        return 0
    if rank_a >= 4:
        a, b = canonical_json(a), canonical_json(b)
    return (a > b) - (a < b)


def same_value(a: Any, b: Any) -> bool:
    """Equality as queries see it: same type (ints and floats are both numbers) and same value."""
    return compare_values(a, b) == 0


def matches(data: dict, where: Filter) -> bool:
    value = field_value(data, where.field)
    if value is _MISSING:
        return False
    if where.op == "==":
        return same_value(value, where.value)
    if where.op == "!=":
        return not same_value(value, where.value)
    if where.op == "in":
        return any(same_value(value, candidate) for candidate in where.value)
    if where.op == "array-contains":
        return isinstance(value, list) and any(same_value(item, where.value) for item in value)
    return type_rank(value) == type_rank(where.value) and _RANGE[where.op](value, where.value)


def run_query(documents: Iterable[tuple[str, dict]], query: Query) -> list[Document]:
    """Evaluate a query over (id, data) pairs of its collection."""
    selected = [
        (doc_id, data) for doc_id, data in documents
        if all(matches(data, where) for where in query.filters)
        and all(field_value(data, order.field) is not _MISSING for order in query.orders)
    ]
    last_descending = query.orders[-1].descending if query.orders else False

    def compare(left: tuple[str, dict], right: tuple[str, dict]) -> int:
        for order in query.orders:
            result = compare_values(field_value(left[1], order.field), field_value(right[1], order.field))
            if result:
                return -result if order.descending else result
        result = (left[0] > right[0]) - (left[0] < right[0])
        return -result if last_descending else result

    selected.sort(key=functools.cmp_to_key(compare))
    if query.limit is not None:
        selected = selected[:query.limit]
    return [Document(doc_id, f"{query.collection}/{doc_id}", copy.deepcopy(data)) for doc_id, data in selected]


class MemoryStore(DocumentStore):
    """A DocumentStore in a dict, thread-safe; transactions run one at a time under a lock."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._collections: dict[str, dict[str, dict]] = {}

    def close(self) -> None:
        pass

    def _get(self, target: DocumentPath) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._collections.get(target.collection, {}).get(target.id))

    def _apply(self, write: Write) -> None:
        with self._lock:
            self._commit([write])

    def _add(self, collection: str, data: dict) -> str:
        with self._lock:
            documents = self._collections.setdefault(collection, {})
            doc_id = auto_id()
            while doc_id in documents:
                doc_id = auto_id()
            documents[doc_id] = data
            return doc_id

    def _query(self, query: Query) -> list[Document]:
        with self._lock:
            return run_query(self._collections.get(query.collection, {}).items(), query)

    def _run_transaction(self, fn: Callable[[Transaction], Any]) -> Any:
        with self._lock:
            tx = _MemoryTransaction(self)
            result = fn(tx)
            self._commit(tx.writes)
            return result

    def _commit(self, writes: Iterable[Write]) -> None:
        # Stage every write first so a failing one (update of a missing document, create of an existing one)
        # leaves nothing half-applied.
        staged: dict[DocumentPath, dict | None] = {}
        for write in writes:
            current = staged[write.target] if write.target in staged else self._get(write.target)
            staged[write.target] = apply_write(current, write)
        for target, data in staged.items():
            documents = self._collections.setdefault(target.collection, {})
            if data is None:
                documents.pop(target.id, None)
            else:
                documents[target.id] = data


class _MemoryTransaction(Transaction):
    def __init__(self, store: MemoryStore):
        super().__init__()
        self._store = store

    def _get(self, target: DocumentPath) -> dict | None:
        return self._store._get(target)

    def _query(self, query: Query) -> list[Document]:
        return self._store._query(query)
