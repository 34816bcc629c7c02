"""Document-store port: Firestore-shaped paths, JSON documents, queries and transactions, plus shared rules."""
from __future__ import annotations

import copy
import json
import math
import re
import secrets
import string
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

T = TypeVar("T")

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "array-contains")
RANGE_OPERATORS = ("<", "<=", ">", ">=")
DIRECTIONS = ("ASCENDING", "DESCENDING")
MAX_IN_VALUES = 30  # Firestore's limit for an `in` filter
AUTO_ID_LENGTH = 20
_AUTO_ID_ALPHABET = string.ascii_letters + string.digits
_RESERVED_ID = re.compile(r"^__.*__$")
_MAX_ID_BYTES = 1500
_INT64 = (-(2**63), 2**63 - 1)
# Backquotes quote field names in Firestore's field-path syntax and double quotes in SQLite's JSON paths.
_FIELD_NAME_FORBIDDEN = ("`", '"')

# Firestore's limits (https://cloud.google.com/firestore/quotas), checked by every adapter so that what works on
# SQLite works on Firestore, and so that the error names the document instead of coming back from the server.
MAX_DOCUMENT_BYTES = 1_048_576          # 1 MiB, by Firestore's storage-size rules (`document_size`)
MAX_STRING_BYTES = 1_048_487            # one string value: 1 MiB - 89 bytes
MAX_FIELD_NAME_BYTES = 1_500            # a field name, and a dotted field path
MAX_DEPTH = 20                          # maps and arrays nested in one field
MAX_TRANSACTION_WRITES = 500            # writes committed by one transaction


class StoreError(Exception):
    """The store failed or refused an operation."""


class NotFound(StoreError):
    """update() of a document that does not exist."""


class AlreadyExists(StoreError):
    """Transaction.create() of a document that exists."""


class Contention(StoreError):
    """Concurrent transactions kept conflicting with this one until the request's time budget ran out; nothing was
    written. The caller may retry after `retry_after_s` seconds (HTTP 503 with Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LimitExceeded(ValueError):
    """A write Firestore would refuse for its size: a document over 1 MiB, a string over 1 MiB - 89 bytes, a field
    name over 1,500 bytes, fields nested deeper than 20, a transaction of more than 500 writes."""


@dataclass(frozen=True)
class Document:
    """A document read from a query: its id, its full path and its data."""

    id: str
    path: str
    data: dict


@dataclass(frozen=True)
class DocumentPath:
    """A validated document path: the collection path and the document id."""

    collection: str
    id: str

    @property
    def path(self) -> str:
        return f"{self.collection}/{self.id}"


@dataclass(frozen=True)
class Filter:
    """One where clause: field path segments, operator, value."""

    field: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True)
class Order:
    field: tuple[str, ...]
    descending: bool


@dataclass(frozen=True)
class Query:
    """A validated query over one collection."""

    collection: str
    filters: tuple[Filter, ...] = ()
    orders: tuple[Order, ...] = ()
    limit: int | None = None


@dataclass(frozen=True)
class Write:
    """One write of a transaction.

    Attributes:
        kind: "set", "update", "create" or "delete".
        target: the document written.
        data: the document (set, create) or {field path segments: value} (update); None for delete.
        merge: for set, deep-merge maps into the existing document instead of replacing it.
    """

    kind: str
    target: DocumentPath
    data: dict | None = None
    merge: bool = False


def _segments(path: str, what: str) -> list[str]:
    if not isinstance(path, str) or not path:
        raise ValueError(f"{what} path must be a non-empty string, got {path!r}")
    segments = path.split("/")
    for segment in segments:
        _check_id(segment, path, what)
    return segments


def _check_id(segment: str, path: str, what: str) -> None:
    if not segment:
        raise ValueError(f"{what} path {path!r} has an empty segment (leading, trailing or doubled '/')")
    if segment in (".", "..") or _RESERVED_ID.match(segment):
        raise ValueError(f"{what} path {path!r}: {segment!r} is not a valid id")
    if len(segment.encode("utf-8", "surrogatepass")) > _MAX_ID_BYTES:
        raise ValueError(f"{what} path {path!r}: an id is longer than {_MAX_ID_BYTES} bytes")


def document_path(path: str) -> DocumentPath:
    """Parse `collection/doc[/collection/doc...]`; ValueError unless it names a document (even segment count)."""
    segments = _segments(path, "document")
    if len(segments) % 2:
        raise ValueError(
            f"document path {path!r} has {len(segments)} segment(s); a document path has an even number "
            "(collection/doc[/collection/doc...])")
    return DocumentPath("/".join(segments[:-1]), segments[-1])


def collection_path(path: str) -> str:
    """Validate `collection[/doc/collection...]`; ValueError unless it names a collection (odd segment count)."""
    segments = _segments(path, "collection")
    if len(segments) % 2 == 0:
        raise ValueError(
            f"collection path {path!r} has {len(segments)} segments; a collection path has an odd number "
            "(collection[/doc/collection...])")
    return path


def field_path(dotted: str) -> tuple[str, ...]:
    """Split a dotted field path ("exposure.overall") into its field names."""
    if not isinstance(dotted, str) or not dotted:
        raise ValueError(f"field path must be a non-empty string, got {dotted!r}")
    if _utf8_length(dotted) > MAX_FIELD_NAME_BYTES:
        raise LimitExceeded(f"field path {dotted[:40]!r}... is longer than Firestore's {MAX_FIELD_NAME_BYTES:,} bytes")
    parts = tuple(dotted.split("."))
    for part in parts:
        if not part:
            raise ValueError(f"field path {dotted!r} has an empty field name")
        if any(char in part for char in _FIELD_NAME_FORBIDDEN):
            raise ValueError(f"field path {dotted!r}: field names addressed by path cannot contain ` or \"")
    return parts


def check_data(data: Any, path: str = "") -> None:
    """ValueError unless `data` is a document every adapter can store (LimitExceeded for Firestore's size limits).

    A document is a dict of field names (non-empty strings of at most 1,500 bytes, none of the form `__name__`,
    which Firestore reserves); values are JSON types (str, int, float, bool, None, list, dict) with finite floats,
    64-bit ints and strings of at most MAX_STRING_BYTES, no list directly inside a list (Firestore forbids it) and
    at most MAX_DEPTH maps and lists nested in one field. `path` names the document in the errors.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{_document_label(path)}data must be a dict, got {type(data).__name__}")
    _check_map(data, "", _document_label(path), depth=0)


def check_document(target: "DocumentPath", data: dict) -> None:
    """check_data, and the whole document within MAX_DOCUMENT_BYTES (LimitExceeded naming the path)."""
    check_data(data, target.path)
    check_size(target, data)


def check_size(target: "DocumentPath", data: dict) -> None:
    size = document_size(target, data)
    if size > MAX_DOCUMENT_BYTES:
        raise LimitExceeded(f"document {target.path} would be {size:,} bytes; Firestore stores at most "
                            f"{MAX_DOCUMENT_BYTES:,} bytes (1 MiB) per document")


def document_size(target: "DocumentPath", data: dict) -> int:
    """A document's size by Firestore's storage-size rules: its name (each collection and document id as a string,
    plus 16), each field name as a string and each value (a string is its UTF-8 bytes + 1, a number 8, a bool or
    null 1, a map or list the sum of its contents, at least 1), plus 32."""
    name = sum(_utf8_length(segment) + 1 for segment in target.path.split("/")) + 16
    return name + _value_size(data) + 32


def _value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, (int, float)):
        return 8
    if isinstance(value, str):
        return _utf8_length(value) + 1
    if isinstance(value, dict):
        return max(1, sum(_utf8_length(key) + 1 + _value_size(item) for key, item in value.items()))
    return max(1, sum(_value_size(item) for item in value))


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _document_label(path: str) -> str:
    return f"document {path}: " if path else ""


def _check_map(data: dict, where: str, label: str, *, depth: int) -> None:
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{label}field names must be non-empty strings, got {key!r} in "
                             f"{repr(where) if where else 'the document'}")
        _check_field_name(key, label)
        _check_value(value, f"{where}.{key}" if where else key, label, in_list=False, depth=depth)


def _check_field_name(name: str, label: str) -> None:
    if _RESERVED_ID.match(name):
        raise ValueError(f"{label}field name {name!r} is reserved by Firestore (names of the form __name__)")
    if _utf8_length(name) > MAX_FIELD_NAME_BYTES:
        raise LimitExceeded(f"{label}field name {name[:40]!r}... is longer than Firestore's "
                            f"{MAX_FIELD_NAME_BYTES:,} bytes")


def _check_value(value: Any, where: str, label: str = "", *, in_list: bool, depth: int = 0) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValueError(f"{label}field {where!r}: {value} does not fit in 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{label}field {where!r}: {value} is not a finite number")
    elif isinstance(value, str):
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise ValueError(f"{label}field {where!r}: string is not valid UTF-8") from exc
        if size > MAX_STRING_BYTES:
            raise LimitExceeded(f"{label}field {where!r}: a string of {size:,} bytes; Firestore stores at most "
                                f"{MAX_STRING_BYTES:,} bytes in one value")
    elif isinstance(value, (dict, list)):
        if depth >= MAX_DEPTH:
            raise LimitExceeded(f"{label}field {where!r}: maps and lists nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            _check_map(value, where, label, depth=depth + 1)
        elif in_list:
            raise ValueError(f"{label}field {where!r}: a list cannot directly contain a list")
        else:
            for index, item in enumerate(value):
                _check_value(item, f"{where}[{index}]", label, in_list=True, depth=depth + 1)
    else:
        raise ValueError(f"{label}field {where!r}: {type(value).__name__} is not a JSON type")


def update_fields(data: dict, path: str = "") -> dict[tuple[str, ...], Any]:
    """Validate update() data: {dotted field path: value} -> {field names: value}."""
    if not isinstance(data, dict) or not data:
        raise ValueError("update needs a non-empty dict of {field path: value}")
    label = _document_label(path)
    fields = {}
    for key, value in data.items():
        names = field_path(key)
        for name in names:
            _check_field_name(name, label)
        fields[names] = value
        # a value set at a.b.c sits inside two maps already
        _check_value(value, key, label, in_list=False, depth=len(names) - 1)
    paths = sorted(fields)
    for shorter, longer in zip(paths, paths[1:]):
        if longer[:len(shorter)] == shorter:
            raise ValueError(f"update field paths overlap: {'.'.join(shorter)!r} and {'.'.join(longer)!r}")
    return fields


def build_query(collection: str, where: Iterable = (), order_by: Iterable = (), limit: int | None = None) -> Query:
    """Validate query arguments into a Query."""
    filters = tuple(_build_filter(clause) for clause in where)
    orders = []
    for clause in order_by:
        field, direction = clause
        if direction not in DIRECTIONS:
            raise ValueError(f"order direction must be one of {DIRECTIONS}, got {direction!r}")
        orders.append(Order(field_path(field), direction == "DESCENDING"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    return Query(collection_path(collection), filters, tuple(orders), limit)


def _build_filter(clause: Sequence) -> Filter:
    field, op, value = clause
    if op not in OPERATORS:
        raise ValueError(f"where operator must be one of {OPERATORS}, got {op!r}")
    if op in RANGE_OPERATORS and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
        raise ValueError(f"{op!r} compares numbers or strings, got {value!r}")
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN_VALUES:
            raise ValueError(f"'in' takes a list of 1 to {MAX_IN_VALUES} values, got {value!r}")
        for item in value:
            _check_value(item, field, in_list=False)
    elif op == "array-contains":
        _check_value(value, field, in_list=True)
    else:
        _check_value(value, field, in_list=False)
    return Filter(field_path(field), op, copy.deepcopy(value))


def auto_id() -> str:
    """A random 20-character id like the ones Firestore assigns."""
    return "".join(secrets.choice(_AUTO_ID_ALPHABET) for _ in range(AUTO_ID_LENGTH))


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def merged(current: dict, incoming: Mapping, *, empty_map_replaces: bool = True) -> dict:
    """Maps merge recursively, any other value replaces. Firestore's set(merge=True) lets an empty map replace;
    the config overlay (`empty_map_replaces=False`) treats an empty map as "nothing to override"."""
    result = copy.deepcopy(current)
    for key, value in incoming.items():
        if isinstance(value, Mapping) and (value or not empty_map_replaces) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value, empty_map_replaces=empty_map_replaces)
        else:
            result[key] = copy.deepcopy(value)
    return result


def updated(current: dict, fields: dict[tuple[str, ...], Any]) -> dict:
    """Firestore update(): each field path is set, creating (or replacing non-map) parents on the way."""
    result = copy.deepcopy(current)
    for path, value in fields.items():
        node = result
        for name in path[:-1]:
            if not isinstance(node.get(name), dict):
                node[name] = {}
            node = node[name]
        node[path[-1]] = copy.deepcopy(value)
    return result


def apply_write(current: dict | None, write: Write) -> dict | None:
    """The document after `write`, given the document before it (None: absent); None means deleted.

    Raises:
        LimitExceeded: a merge or an update would take the document past MAX_DOCUMENT_BYTES (a whole new
            document is checked before it gets here).
    """
    if write.kind == "delete":
        return None
    if write.kind == "create":
        if current is not None:
            raise AlreadyExists(f"document {write.target.path} already exists")
        return copy.deepcopy(write.data)
    if write.kind == "update":
        if current is None:
            raise NotFound(f"no document to update at {write.target.path}")
        result = updated(current, write.data)
    elif write.merge:
        result = merged(current or {}, write.data)
    else:
        return copy.deepcopy(write.data)
    check_size(write.target, result)
    return result


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
