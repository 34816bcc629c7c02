"""DocumentStore on Cloud Firestore, wrapping a google.cloud.firestore.Client that the caller builds."""
from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, TypeVar

from google.api_core import exceptions as google_exceptions
from google.cloud.firestore_v1 import CollectionReference, FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from lib import deadline as deadlines
from lib.store.errors import AlreadyExists, Contention, LimitExceeded, NotFound, StoreError
from lib.store.limits import DocumentPath
from lib.store.port import Document, DocumentStore, Transaction
from lib.store.query import Query
from lib.store.writes import Write

log = logging.getLogger(__name__)

T = TypeVar("T")

_OPERATORS = {"array-contains": "array_contains"}
# The budget of contended work outside an intent run (scripts, `lib.seed`, tests): no request deadline applies.
DEFAULT_BUDGET_S = 30.0
# Even with the run's deadline spent, a transaction gets this long to retry: the cleanup a failing run does (give
# back its claim, release its strategy locks) must not be lost to the budget the failure used up.
MIN_RETRY_WINDOW_S = 5.0
BACKOFF_INITIAL_S = 0.1
BACKOFF_MAX_S = 2.0
# after an abort, the store's attempts take turns for this long (see FirestoreStore)
SINGLE_FILE_S = 5.0


class _Aborted(Exception):
    """A read inside a transaction was ABORTED; not a StoreError, so a transaction function cannot swallow it."""


class Backoff:
    """Jittered exponential backoff bounded by a deadline: the pause before each retry of an ABORTED attempt.

    Pause n (from 0) is drawn uniformly from [0, cap] with cap = min(BACKOFF_MAX_S, BACKOFF_INITIAL_S x 2^n) ("full
    jitter"), so writers that collided spread out instead of colliding again in step.

    Args:
        action: what is retried, for the error message.
        budget_s: the budget when no intent run's deadline is active.
        min_window_s: retries go on at least this long after the first attempt, whatever the deadline says.
        clock, sleep, random: injectable for tests.
    """

    def __init__(self, action: str, budget_s: float, *, min_window_s: float = MIN_RETRY_WINDOW_S,
                 clock=time.monotonic, sleep=time.sleep, random=random.random):
        self.action = action
        self.attempts = 0
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._started = clock()
        self._min_end = self._started + min_window_s
        active = deadlines.current()
        self._deadline = active if active is not None else deadlines.Deadline(budget_s, clock=clock)

    def next_pause_s(self) -> float:
        cap = min(BACKOFF_MAX_S, BACKOFF_INITIAL_S * 2 ** self.attempts)
        return cap * self._random()

    def left_s(self) -> float:
        return max(self._deadline.left_s(), self._min_end - self._clock())

    def wait(self, exc: Exception) -> None:
        """Pause before the next attempt, or raise Contention if the pause would end past the budget."""
        pause = self.next_pause_s()
        self.attempts += 1
        if pause >= self.left_s():
            raise self.exhausted(exc, retry_after_s=pause)
        log.info("Firestore: %s aborted by contention (attempt %d), retrying in %.3f s", self.action,
                 self.attempts, pause)
        self._sleep(pause)

    def exhausted(self, exc: Exception | None, retry_after_s: float = 1.0) -> Contention:
        log.warning("Firestore: %s still contended after %d attempt(s); giving up", self.action, self.attempts)
        error = Contention(f"Firestore could not {self.action}: still contended after {self.attempts} attempt(s) "
                           f"in {self._clock() - self._started:.1f} s, when the time budget ran out"
                           + (f": {exc}" if exc is not None else ""), retry_after_s=max(1, math.ceil(retry_after_s)))
        error.__cause__ = exc
        return error


class FirestoreStore(DocumentStore):
    """DocumentStore on Firestore; the paths are the documents operators see in the console.

    Transactions are Firestore's: a read locks the document (or the query's range) until the commit, and a
    conflicting transaction or write answers ABORTED. The adapter retries an ABORTED read, commit or single write
    itself (the whole transaction function again, so it may run more than once), with `Backoff` pauses, as long as
    the intent run's deadline (`lib.deadline.current()`, else `budget_s`) leaves time; then it raises Contention,
    which the HTTP layer answers with 503 and Retry-After. Each retry names the aborted transaction
    (`retry_transaction`), so Firestore keeps its place among the lock waiters.

    Attempts take turns under contention: while a transaction or write of this store is retrying, and for
    SINGLE_FILE_S after its last abort, the store's attempts (begin, the function, commit) run one at a time; other
    processes still compete, and without contention nothing waits. Without that, threads of one worker reading the
    same documents hold shared locks that block each other's commits until Firestore times the locks out, round
    after round. Measured on Google's emulator (lock timeout 2 s): 8 reconciliations and an allocation applying the
    same executions livelocked for up to a minute, and 4 threads incrementing one document 10 times took 16-22 s;
    with turns, 2-6 s and 4-5 s.

    Args:
        client: a google.cloud.firestore.Client; the store closes it in close().
        budget_s: how long contended work may retry outside an intent run.
        min_retry_window_s: how long contended work may retry even when the run's deadline has passed.
        sleep: how to pause between attempts (tests count the pauses).
    """

    def __init__(self, client, *, budget_s: float = DEFAULT_BUDGET_S, min_retry_window_s: float = MIN_RETRY_WINDOW_S,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self._client = client
        self._budget_s = budget_s
        self._min_retry_window_s = min_retry_window_s
        self._sleep = sleep
        # held by each attempt while some transaction or write of this store is retrying (see the class docstring)
        self._turns = threading.Lock()
        self._retrying_count = 0
        self._single_file_until = 0.0
        self._count_lock = threading.Lock()

    def _backoff(self, action: str) -> Backoff:
        return Backoff(action, self._budget_s, min_window_s=self._min_retry_window_s, sleep=self._sleep)

    def close(self) -> None:
        self._client.close()

    def _get(self, target: DocumentPath) -> dict | None:
        with _translated(f"get {target.path}"):
            return _snapshot_data(self._ref(target).get())

    def _apply(self, write: Write) -> None:
        def commit() -> None:
            batch = self._client.batch()
            _stage(batch, self._ref(write.target), write)
            batch.commit()

        self._retrying(f"{write.kind} {write.target.path}", commit)

    def _add(self, collection: str, data: dict) -> str:
        # The id is chosen once, so a retried create cannot leave two documents.
        ref = self._client.collection(collection).document()

        def commit() -> None:
            batch = self._client.batch()
            batch.create(ref, data)
            batch.commit()

        self._retrying(f"add {collection}/{ref.id}", commit)
        return ref.id

    def _query(self, query: Query) -> list[Document]:
        with _translated(f"query {query.collection}"):
            return [_document(query.collection, snapshot) for snapshot in self._firestore_query(query).stream()]

    def _run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        # google-cloud-firestore's @transactional retries only commits, 5 times, without pauses, and starts over
        # its retry id on every call; so this loop drives the client's Transaction itself (_begin, _commit,
        # _rollback, stable in the pinned google-cloud-firestore version; tests/store/test_concurrency.py covers it).
        backoff = self._backoff("commit a transaction")
        with self._retries(backoff):
            return self._transaction_attempts(fn, backoff)

    def _transaction_attempts(self, fn: Callable[[Transaction], T], backoff: Backoff) -> T:
        retry_id = None
        while True:
            with self._turn(backoff):
                transaction = self._client.transaction()
                with _translated("begin a transaction"):
                    transaction._begin(retry_id=retry_id)
                try:
                    tx = _FirestoreTransaction(self, transaction)
                    result = fn(tx)
                    for write in tx.writes:
                        _stage(transaction, self._ref(write.target), write)
                    with _translated(_commit_action(tx.writes), retryable=True):
                        transaction._commit()
                    return result
                except (_Aborted, google_exceptions.Aborted) as exc:
                    aborted = exc.__cause__ if isinstance(exc, _Aborted) else exc
                    retry_id = transaction.id
                    _rollback_quietly(transaction)
                except BaseException:
                    _rollback_quietly(transaction)
                    raise
            self._aborted(backoff, aborted)

    def _retrying(self, action: str, commit: Callable[[], None]) -> None:
        """Run a single write, again after a pause while Firestore answers ABORTED (a transaction holds a lock on
        the document: a plain write waits for it and may time out)."""
        backoff = self._backoff(action)
        with self._retries(backoff):
            while True:
                with self._turn(backoff):
                    try:
                        with _translated(action, retryable=True):
                            commit()
                        return
                    except google_exceptions.Aborted as exc:
                        aborted = exc
                self._aborted(backoff, aborted)

    @contextlib.contextmanager
    def _turn(self, backoff: Backoff) -> Iterator[None]:
        """An attempt: unhindered while no transaction or write of this store is retrying, in single file with
        every other attempt otherwise."""
        if backoff.attempts == 0 and not self._retrying_count and time.monotonic() >= self._single_file_until:
            yield
            return
        if not self._turns.acquire(timeout=max(0.0, backoff.left_s())):
            raise backoff.exhausted(None)
        try:
            yield
        finally:
            self._turns.release()

    @contextlib.contextmanager
    def _retries(self, backoff: Backoff) -> Iterator[None]:
        """Counts this transaction among the retrying ones from its first abort until it ends."""
        try:
            yield
        finally:
            if backoff.attempts:
                with self._count_lock:
                    self._retrying_count -= 1

    def _aborted(self, backoff: Backoff, exc: Exception) -> None:
        with self._count_lock:
            if backoff.attempts == 0:
                self._retrying_count += 1
            self._single_file_until = time.monotonic() + SINGLE_FILE_S
        backoff.wait(exc)

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
        with _reading(f"get {target.path}"):
            [snapshot] = list(self._transaction.get(self._store._ref(target)))
            return _snapshot_data(snapshot)

    def _query(self, query: Query) -> list[Document]:
        with _reading(f"query {query.collection}"):
            found = self._store._firestore_query(query)
            if isinstance(found, CollectionReference):
                # a transaction reads a Query or a document, not a bare collection
                found = found.order_by(FieldPath.document_id())
            snapshots = self._transaction.get(found)
            return [_document(query.collection, snapshot) for snapshot in snapshots]


def _commit_action(writes: tuple[Write, ...]) -> str:
    paths = sorted({write.target.path for write in writes})
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"commit a transaction writing {shown}" if paths else "commit a transaction"


def _rollback_quietly(transaction) -> None:
    """Release the locks of a transaction that will not commit; the server may have ended it already."""
    if not transaction.in_progress:
        return
    try:
        transaction._rollback()
    except (google_exceptions.GoogleAPIError, ValueError) as exc:
        log.debug("Firestore rollback failed (the transaction had ended): %s", exc)


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
def _reading(action: str) -> Iterator[None]:
    """A read inside a transaction: ABORTED becomes _Aborted (the transaction retries), the rest as _translated."""
    try:
        with _translated(action, retryable=True):
            yield
    except google_exceptions.Aborted as exc:
        raise _Aborted(action) from exc


@contextlib.contextmanager
def _translated(action: str, *, retryable: bool = False) -> Iterator[None]:
    """google.api_core errors as the port's. ABORTED passes through when the caller retries it (`retryable`), and
    is Contention where nothing retries it."""
    try:
        yield
    except google_exceptions.Aborted as exc:
        if retryable:
            raise
        raise Contention(f"Firestore could not {action}: {exc.message}", retry_after_s=1) from exc
    except google_exceptions.AlreadyExists as exc:
        raise AlreadyExists(f"Firestore could not {action}: {exc.message}") from exc
    except google_exceptions.NotFound as exc:
        raise NotFound(f"Firestore could not {action}: {exc.message}") from exc
    except google_exceptions.InvalidArgument as exc:
        if "entity size" in exc.message or "longer than" in exc.message:
            raise LimitExceeded(f"Firestore refused to {action}: {exc.message}") from exc
        raise StoreError(f"Firestore could not {action}: {exc}") from exc
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
