"""DocumentStore on Cloud Firestore, wrapping a google.cloud.firestore.Client that the caller builds."""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from google.api_core import exceptions as google_exceptions
from google.cloud.firestore_v1 import CollectionReference, FieldFilter, transactional
from google.cloud.firestore_v1.field_path import FieldPath

from lib.store.port import (
    AlreadyExists, Document, DocumentPath, DocumentStore, NotFound, Query, StoreError, Transaction, Write,
)

_OPERATORS = {"array-contains": "array_contains"}


class FirestoreStore(DocumentStore):
    """DocumentStore on Firestore; the paths are the documents operators see in the console.

    Transactions are Firestore's: optimistic, retried on contention (so the function may run again).

    Args:
        client: a google.cloud.firestore.Client; the store closes it in close().
    """

    def __init__(self, client):
        super().__init__()
        self._client = client

    def close(self) -> None:
        self._client.close()

    def _get(self, target: DocumentPath) -> dict | None:
        with _translated(f"get {target.path}"):
            return _snapshot_data(self._ref(target).get())

    def _apply(self, write: Write) -> None:
        batch = self._client.batch()
        _stage(batch, self._ref(write.target), write)
        with _translated(f"{write.kind} {write.target.path}"):
            batch.commit()

    def _add(self, collection: str, data: dict) -> str:
        with _translated(f"add to {collection}"):
            _, ref = self._client.collection(collection).add(data)
        return ref.id

    def _query(self, query: Query) -> list[Document]:
        with _translated(f"query {query.collection}"):
            return [_document(query.collection, snapshot) for snapshot in self._firestore_query(query).stream()]

    def _run_transaction(self, fn: Callable[[Transaction], Any]) -> Any:
        @transactional
        def attempt(transaction) -> Any:
            tx = _FirestoreTransaction(self, transaction)
            result = fn(tx)
            for write in tx.writes:
                _stage(transaction, self._ref(write.target), write)
            return result

        with _translated("commit a transaction"):
            try:
                return attempt(self._client.transaction())
            except ValueError as exc:
                # The client reports a transaction that kept losing to concurrent writers as a ValueError.
                if isinstance(exc.__cause__, google_exceptions.Aborted):
                    raise StoreError(f"Firestore transaction kept conflicting: {exc}") from exc
                raise

    def _ref(self, target: DocumentPath):
        return self._client.collection(target.collection).document(target.id)

    def _firestore_query(self, query: Query):
        result = self._client.collection(query.collection)
        for where in query.filters:
            result = result.where(filter=FieldFilter(_api_path(where.field), _OPERATORS.get(where.op, where.op),
                                                     where.value))
        for order in query.orders:
            direction = "DESCENDING" if order.descending else "ASCENDING"
            result = result.order_by(_api_path(order.field), direction=direction)
        if query.limit is not None:
            result = result.limit(query.limit)
        return result


class _FirestoreTransaction(Transaction):
    def __init__(self, store: FirestoreStore, transaction):
        super().__init__()
        self._store = store
        self._transaction = transaction

    def _get(self, target: DocumentPath) -> dict | None:
        with _translated(f"get {target.path}"):
            [snapshot] = list(self._transaction.get(self._store._ref(target)))
            return _snapshot_data(snapshot)

    def _query(self, query: Query) -> list[Document]:
        with _translated(f"query {query.collection}"):
            found = self._store._firestore_query(query)
            if isinstance(found, CollectionReference):
                # a transaction reads a Query or a document, not a bare collection
                found = found.order_by(FieldPath.document_id())
            snapshots = self._transaction.get(found)
            return [_document(query.collection, snapshot) for snapshot in snapshots]


def _stage(writer, ref, write: Write) -> None:
    """Add one write to a WriteBatch or a Transaction (same methods)."""
    if write.kind == "set":
        writer.set(ref, write.data, merge=write.merge)
    elif write.kind == "update":
        writer.update(ref, {_api_path(path): value for path, value in write.data.items()})
    elif write.kind == "create":
        writer.create(ref, write.data)
    else:
        writer.delete(ref)


def _api_path(field: tuple[str, ...]) -> str:
    # Firestore's field-path syntax: names that are not plain identifiers (a conId such as "265598") are quoted.
    return FieldPath(*field).to_api_repr()


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except google_exceptions.AlreadyExists as exc:
        raise AlreadyExists(f"Firestore could not {action}: {exc.message}") from exc
    except google_exceptions.NotFound as exc:
        raise NotFound(f"Firestore could not {action}: {exc.message}") from exc
    except google_exceptions.GoogleAPIError as exc:
        raise StoreError(f"Firestore could not {action}: {exc}") from exc


def _snapshot_data(snapshot) -> dict | None:
    return _plain(snapshot.to_dict()) if snapshot.exists else None


def _document(collection: str, snapshot) -> Document:
    return Document(snapshot.id, f"{collection}/{snapshot.id}", _plain(snapshot.to_dict()))


def _plain(value: Any) -> Any:
    """JSON types only: a timestamp typed in the console becomes an ISO-8601 UTC string, the service's convention."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value
