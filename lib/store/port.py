"""Document-store port: Firestore-shaped documents, read and written alone or in transactions."""
from __future__ import annotations

import copy
import json
import secrets
import string
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

from lib.store.errors import LimitExceeded, StoreError
from lib.store.limits import (
    MAX_TRANSACTION_WRITES, DocumentPath, check_document, collection_path, document_path,
)
from lib.store.query import Query, build_query
from lib.store.writes import Write, update_fields

T = TypeVar("T")

AUTO_ID_LENGTH = 20
_AUTO_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Document:
    """A document read from a query: its id, its full path and its data."""

    id: str
    path: str
    data: dict


def auto_id() -> str:
    """A random 20-character id like the ones Firestore assigns."""
    return "".join(secrets.choice(_AUTO_ID_ALPHABET) for _ in range(AUTO_ID_LENGTH))


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Transaction(ABC):
    """What a transaction function receives: reads first, then writes, committed together at the end.

    Writes are recorded and applied at commit, so an `update` of a missing document or a `create` of an existing
    one fails when the transaction commits (the error propagates from run_transaction), not at the call.
    """

    def __init__(self) -> None:
        self._writes: list[Write] = []

    def get(self, path: str) -> dict | None:
        self._check_reading()
        return self._get(document_path(path))

    def query(self, collection: str, *, where: Iterable = (), order_by: Iterable = (),
              limit: int | None = None) -> list[Document]:
        self._check_reading()
        return self._query(build_query(collection, where, order_by, limit))

    def set(self, path: str, data: dict, *, merge: bool = False) -> None:
        target = document_path(path)
        check_document(target, data)
        self._append(Write("set", target, copy.deepcopy(data), merge))

    def update(self, path: str, data: dict) -> None:
        self._append(Write("update", document_path(path), copy.deepcopy(update_fields(data, path))))

    def delete(self, path: str) -> None:
        self._append(Write("delete", document_path(path)))

    def create(self, path: str, data: dict) -> None:
        """Write a new document; the commit fails with AlreadyExists if it exists (exactly-once markers)."""
        target = document_path(path)
        check_document(target, data)
        self._append(Write("create", target, copy.deepcopy(data)))

    def _append(self, write: Write) -> None:
        if len(self._writes) >= MAX_TRANSACTION_WRITES:
            raise LimitExceeded(f"a transaction commits at most {MAX_TRANSACTION_WRITES} writes (Firestore's limit); "
                                f"write {len(self._writes) + 1}, to {write.target.path}, is one too many")
        self._writes.append(write)

    @property
    def writes(self) -> tuple[Write, ...]:
        return tuple(self._writes)

    def _check_reading(self) -> None:
        # Firestore transactions lock what they read, so every read has to come before the first write.
        if self._writes:
            raise StoreError("a transaction must do all its reads before its first write")

    @abstractmethod
    def _get(self, target: DocumentPath) -> dict | None:
        ...

    @abstractmethod
    def _query(self, query: Query) -> list[Document]:
        ...


class DocumentStore(ABC):
    """Documents at Firestore-style paths (`config/common`, `positions/paper/holdings/dummy`).

    Values are JSON types; timestamps are ISO-8601 UTC strings by convention. Public methods validate paths
    and data (ValueError) and delegate to the adapter's `_` methods. Safe to share between threads.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, path: str) -> dict | None:
        """The document's data, or None if it does not exist."""
        return self._get(document_path(path))

    def set(self, path: str, data: dict, *, merge: bool = False) -> None:
        """Write a document; merge=True deep-merges maps into the existing one (Firestore set(merge=True))."""
        target = document_path(path)
        check_document(target, data)
        self._write(Write("set", target, copy.deepcopy(data), merge))

    def update(self, path: str, data: dict) -> None:
        """Set fields by dotted path ("exposure.overall"); NotFound if the document does not exist."""
        self._write(Write("update", document_path(path), copy.deepcopy(update_fields(data, path))))

    def delete(self, path: str) -> None:
        """Delete a document; deleting a missing one is not an error."""
        self._write(Write("delete", document_path(path)))

    def add(self, collection: str, data: dict) -> str:
        """Create a document with a new auto id in `collection`; returns the id."""
        collection_path(collection)
        # sized with an id as long as the one the adapter will pick
        check_document(DocumentPath(collection, "x" * AUTO_ID_LENGTH), data)
        self._check_outside_transaction()
        return self._add(collection, copy.deepcopy(data))

    def query(self, collection: str, *, where: Iterable = (), order_by: Iterable = (),
              limit: int | None = None) -> list[Document]:
        """Documents of one collection (not its subcollections) matching every where clause.

        Args:
            where: (field path, op, value) clauses, op one of `OPERATORS`; a document lacking the field never
                matches (`!=` included).
            order_by: (field path, "ASCENDING" | "DESCENDING") pairs; documents lacking an order field are left
                out, as in Firestore. The order of ties and of unordered results is adapter-defined.
            limit: the most documents to return.
        """
        return self._query(build_query(collection, where, order_by, limit))

    def run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run fn(tx) in a transaction and commit its writes; returns fn's result.

        fn may run more than once (Firestore retries on contention), so besides tx writes it must have no side
        effects. It reads (tx.get, tx.query) before it writes (tx.set/update/delete/create). If fn raises, nothing
        is written and the exception propagates. Transactions do not nest, and writes through the store itself are
        refused inside one.
        """
        self._check_outside_transaction()
        self._local.in_transaction = True
        try:
            return self._run_transaction(fn)
        finally:
            self._local.in_transaction = False

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def __enter__(self) -> "DocumentStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _write(self, write: Write) -> None:
        self._check_outside_transaction()
        self._apply(write)

    def _check_outside_transaction(self) -> None:
        if getattr(self._local, "in_transaction", False):
            raise StoreError("inside run_transaction, write through the transaction (tx.set, tx.update, ...), "
                             "not the store, and do not start another transaction")

    @abstractmethod
    def _get(self, target: DocumentPath) -> dict | None:
        ...

    @abstractmethod
    def _apply(self, write: Write) -> None:
        """Apply one set/update/delete atomically."""

    @abstractmethod
    def _add(self, collection: str, data: dict) -> str:
        ...

    @abstractmethod
    def _query(self, query: Query) -> list[Document]:
        ...

    @abstractmethod
    def _run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        ...
