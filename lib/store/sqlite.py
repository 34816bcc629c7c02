"""Embedded DocumentStore in one SQLite file: WAL, fsync on commit, serialised write transactions."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from typing import Any, Callable, Iterator

from lib.store.errors import Contention, StoreError
from lib.store.limits import DocumentPath
from lib.store.port import Document, DocumentStore, Transaction, auto_id, canonical_json
from lib.store.query import Filter, Query
from lib.store.writes import Write, apply_write

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL CHECK (json_valid(data)),
    PRIMARY KEY (collection, id)
) WITHOUT ROWID
"""
# Firestore's order of types, from json_type(): null < bool < number < string < array < map.
_TYPE_RANK = ("CASE json_type(data, {path}) WHEN 'null' THEN 0 WHEN 'true' THEN 1 WHEN 'false' THEN 1 "
              "WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'array' THEN 4 ELSE 5 END")
_NUMBER_TYPES = "('integer', 'real')"


class SqliteStore(DocumentStore):
    """DocumentStore in a SQLite file, shared safely by the threads of a process and by several processes.

    Every write, single or transactional, runs in `BEGIN IMMEDIATE`: it takes the database's write lock before
    its first read, so read-modify-write transactions are serialisable and never re-run, and waiting writers queue
    on the busy timeout instead of failing. WAL lets readers proceed while a writer holds the lock.
    `synchronous=FULL` fsyncs the WAL at every commit: an order record or an applied-execution mark written just
    before or after the broker acted must survive a power loss, not only a crash of the process (NORMAL only
    guarantees the latter in WAL mode). Writes here are a few per intent, so the fsync cost does not matter.
    Open it in the process that uses it (a gunicorn worker, after the fork): SQLite connections must not cross a
    fork.

    Args:
        path: the database file (created if missing; its directory must exist).
        busy_timeout_s: how long a write waits for another transaction's lock before StoreError.
    """

    def __init__(self, path: str | os.PathLike, *, busy_timeout_s: float = 10.0):
        super().__init__()
        self.path = os.fspath(path)
        self.busy_timeout_s = busy_timeout_s
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        with self._connection() as connection, _translated("open"):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(_SCHEMA)
            connection.execute("COMMIT")

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _get(self, target: DocumentPath) -> dict | None:
        with self._connection() as connection, _translated("get"):
            return _load(connection, target)

    def _apply(self, write: Write) -> None:
        def store(connection: sqlite3.Connection) -> None:
            with _translated("write"):
                _store(connection, write)

        self._in_transaction(store)

    def _add(self, collection: str, data: dict) -> str:
        def insert(connection: sqlite3.Connection) -> str:
            with _translated("add"):
                while True:
                    target = DocumentPath(collection, auto_id())
                    if _load(connection, target) is None:
                        _put(connection, target, data)
                        return target.id

        return self._in_transaction(insert)

    def _query(self, query: Query) -> list[Document]:
        with self._connection() as connection, _translated("query"):
            return _run_query(connection, query)

    def _run_transaction(self, fn: Callable[[Transaction], Any]) -> Any:
        def attempt(connection: sqlite3.Connection) -> Any:
            tx = _SqliteTransaction(connection)
            result = fn(tx)
            with _translated("commit"):
                for write in tx.writes:
                    _store(connection, write)
            return result

        return self._in_transaction(attempt)

    def _in_transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._connection() as connection:
            with _translated("begin a transaction"):
                connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
                with _translated("commit"):
                    connection.execute("COMMIT")
            except BaseException:
                connection.rollback()
                raise
            return result

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # A small pool instead of one connection per thread: gthread workers and test threads come and go, and a
        # connection is only ever used by one thread at a time.
        with self._pool_lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._connect()
        try:
            yield connection
        finally:
            if connection.in_transaction:
                connection.rollback()
            with self._pool_lock:
                keep = not self._closed
                if keep:
                    self._idle.append(connection)
            if not keep:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        with _translated(f"open {self.path}"):
            # isolation_level=None: the module issues no implicit BEGIN; transactions are explicit BEGIN IMMEDIATE.
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                         check_same_thread=False)
            try:
                mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"{self.path}: SQLite refused WAL mode (journal_mode={mode})")
                connection.execute("PRAGMA synchronous=FULL")
            except BaseException:
                connection.close()
                raise
        return connection


class _SqliteTransaction(Transaction):
    def __init__(self, connection: sqlite3.Connection):
        super().__init__()
        self._connection = connection

    def _get(self, target: DocumentPath) -> dict | None:
        with _translated("get"):
            return _load(self._connection, target)

    def _query(self, query: Query) -> list[Document]:
        with _translated("query"):
            return _run_query(self._connection, query)


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            # another transaction held the write lock for the whole busy timeout: contention, as on Firestore
            raise Contention(f"SQLite could not {action}: {exc}", retry_after_s=1) from exc
        raise StoreError(f"SQLite could not {action}: {exc}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite could not {action}: {exc}") from exc


def _load(connection: sqlite3.Connection, target: DocumentPath) -> dict | None:
    row = connection.execute("SELECT data FROM documents WHERE collection = ? AND id = ?",
                             (target.collection, target.id)).fetchone()
    return None if row is None else json.loads(row[0])


def _put(connection: sqlite3.Connection, target: DocumentPath, data: dict) -> None:
    connection.execute(
        "INSERT INTO documents (collection, id, data) VALUES (?, ?, ?) "
        "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data",
        (target.collection, target.id, canonical_json(data)))


def _store(connection: sqlite3.Connection, write: Write) -> None:
    current = None if write.kind == "delete" or (write.kind == "set" and not write.merge) else _load(
        connection, write.target)
    data = apply_write(current, write)
    if data is None:
        connection.execute("DELETE FROM documents WHERE collection = ? AND id = ?",
                           (write.target.collection, write.target.id))
    else:
        _put(connection, write.target, data)


def _run_query(connection: sqlite3.Connection, query: Query) -> list[Document]:
    sql, params = compile_query(query)
    return [Document(doc_id, f"{query.collection}/{doc_id}", json.loads(data))
            for doc_id, data in connection.execute(sql, params)]


def compile_query(query: Query) -> tuple[str, list]:
    """SELECT id, data for a query, comparing JSON values with json_type/json_extract (no index needed)."""
    conditions = ["collection = ?"]
    params: list = [query.collection]
    for where in query.filters:
        condition, values = _filter_sql(where)
        conditions.append(condition)
        params.extend(values)
    ordering = []
    for order in query.orders:
        path = _json_path(order.field)
        direction = "DESC" if order.descending else "ASC"
        conditions.append(f"json_type(data, {path}) IS NOT NULL")
        ordering += [f"{_TYPE_RANK.format(path=path)} {direction}", f"json_extract(data, {path}) {direction}"]
    ordering.append("id DESC" if query.orders and query.orders[-1].descending else "id ASC")
    sql = f"SELECT id, data FROM documents WHERE {' AND '.join(conditions)} ORDER BY {', '.join(ordering)}"
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(query.limit)
    return sql, params


def _json_path(field: tuple[str, ...]) -> str:
    # Field names never contain '"' (lib.store.limits.field_path refuses it); quote each one for names with dots or
    # spaces, and render the path as an SQL literal.
    path = "$" + "".join(f'."{name}"' for name in field)
    return "'" + path.replace("'", "''") + "'"


def _filter_sql(where: Filter) -> tuple[str, list]:
    path = _json_path(where.field)
    type_sql, value_sql = f"json_type(data, {path})", f"json_extract(data, {path})"
    if where.op == "==":
        return _equal_sql(type_sql, value_sql, where.value)
    if where.op == "!=":
        condition, params = _equal_sql(type_sql, value_sql, where.value)
        return f"({type_sql} IS NOT NULL AND NOT {condition})", params
    if where.op == "in":
        parts, params = [], []
        for candidate in where.value:
            condition, values = _equal_sql(type_sql, value_sql, candidate)
            parts.append(condition)
            params.extend(values)
        return f"({' OR '.join(parts)})", params
    if where.op == "array-contains":
        condition, params = _equal_sql("element.type", "element.value", where.value)
        return (f"({type_sql} = 'array' AND EXISTS (SELECT 1 FROM json_each(data, {path}) AS element "
                f"WHERE {condition}))"), params
    kind = "= 'text'" if isinstance(where.value, str) else f"IN {_NUMBER_TYPES}"
    return f"({type_sql} {kind} AND {value_sql} {where.op} ?)", [where.value]


def _equal_sql(type_sql: str, value_sql: str, value: Any) -> tuple[str, list]:
    """Type-aware equality: true is not 1, "1" is not 1, but 1 equals 1.0 (both numbers, as in Firestore)."""
    if value is None:
        return f"({type_sql} = 'null')", []
    if isinstance(value, bool):
        return f"({type_sql} = '{'true' if value else 'false'}')", []
    if isinstance(value, (int, float)):
        return f"({type_sql} IN {_NUMBER_TYPES} AND {value_sql} = ?)", [value]
    if isinstance(value, str):
        return f"({type_sql} = 'text' AND {value_sql} = ?)", [value]
    kind = "array" if isinstance(value, list) else "object"
    return f"({type_sql} = '{kind}' AND {value_sql} = json(?))", [canonical_json(value)]
