"""How a write changes a document: set, merge, update (by field path), create and delete, as Firestore does."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping

from lib.store.errors import AlreadyExists, NotFound
from lib.store.limits import DocumentPath, check_field_name, check_size, check_value, document_label, field_path


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


def update_fields(data: dict, path: str = "") -> dict[tuple[str, ...], Any]:
    """Validate update() data: {dotted field path: value} -> {field names: value}."""
    if not isinstance(data, dict) or not data:
        raise ValueError("update needs a non-empty dict of {field path: value}")
    label = document_label(path)
    fields = {}
    for key, value in data.items():
        names = field_path(key)
        for name in names:
            check_field_name(name, label)
        fields[names] = value
        # a value set at a.b.c sits inside two maps already
        check_value(value, key, label, in_list=False, depth=len(names) - 1)
    paths = sorted(fields)
    for shorter, longer in zip(paths, paths[1:]):
        if longer[:len(shorter)] == shorter:
            raise ValueError(f"update field paths overlap: {'.'.join(shorter)!r} and {'.'.join(longer)!r}")
    return fields


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
