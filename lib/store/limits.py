"""What Firestore accepts, checked by every adapter: ids and paths, field names, values and sizes.

Firestore's limits (https://cloud.google.com/firestore/quotas) are checked here so that what works on SQLite works on
Firestore, and so that the error names the document instead of coming back from the server.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from lib.store.errors import LimitExceeded

_RESERVED_ID = re.compile(r"^__.*__$")
_MAX_ID_BYTES = 1500
_INT64 = (-(2**63), 2**63 - 1)
# Backquotes quote field names in Firestore's field-path syntax and double quotes in SQLite's JSON paths.
_FIELD_NAME_FORBIDDEN = ("`", '"')

MAX_DOCUMENT_BYTES = 1_048_576          # 1 MiB, by Firestore's storage-size rules (`document_size`)
MAX_STRING_BYTES = 1_048_487            # one string value: 1 MiB - 89 bytes
MAX_FIELD_NAME_BYTES = 1_500            # a field name, and a dotted field path
MAX_DEPTH = 20                          # maps and arrays nested in one field
MAX_TRANSACTION_WRITES = 500            # writes committed by one transaction


@dataclass(frozen=True)
class DocumentPath:
    """A validated document path: the collection path and the document id."""

    collection: str
    id: str

    @property
    def path(self) -> str:
        return f"{self.collection}/{self.id}"


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
        raise ValueError(f"{document_label(path)}data must be a dict, got {type(data).__name__}")
    _check_map(data, "", document_label(path), depth=0)


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


def document_label(path: str) -> str:
    return f"document {path}: " if path else ""


def _check_map(data: dict, where: str, label: str, *, depth: int) -> None:
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{label}field names must be non-empty strings, got {key!r} in "
                             f"{repr(where) if where else 'the document'}")
        check_field_name(key, label)
        check_value(value, f"{where}.{key}" if where else key, label, in_list=False, depth=depth)


def check_field_name(name: str, label: str) -> None:
    if _RESERVED_ID.match(name):
        raise ValueError(f"{label}field name {name!r} is reserved by Firestore (names of the form __name__)")
    if _utf8_length(name) > MAX_FIELD_NAME_BYTES:
        raise LimitExceeded(f"{label}field name {name[:40]!r}... is longer than Firestore's "
                            f"{MAX_FIELD_NAME_BYTES:,} bytes")


def check_value(value: Any, where: str, label: str = "", *, in_list: bool, depth: int = 0) -> None:
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
                check_value(item, f"{where}[{index}]", label, in_list=True, depth=depth + 1)
    else:
        raise ValueError(f"{label}field {where!r}: {type(value).__name__} is not a JSON type")
