"""Which composite index a query needs in Firestore (Standard edition), for checking `firestore.indexes.json`.

The emulator answers every query without an index, so the tests check the file instead: Firestore keeps a
single-field index of every field, serves a query on one field (filters and order) from it, and merges
single-field indexes for a query whose filters are all equalities (==, in, array-contains) with no order.
Anything else (an equality with an order or a range on another field, two order fields, ranges on two fields)
needs a composite index: the equality fields first, then the inequality field, then the order fields.
"""
from __future__ import annotations

import json
from pathlib import Path

from lib.store.query import Query

EQUALITY = ("==", "in", "array-contains")


def _name(field: tuple[str, ...]) -> str:
    return ".".join(field)


def required_index(query: Query) -> dict | None:
    """The composite index (firestore.indexes.json form) the query needs, or None."""
    fields = {_name(f.field) for f in query.filters} | {_name(o.field) for o in query.orders}
    ranges = [f for f in query.filters if f.op not in EQUALITY]
    if len(fields) <= 1 or (not ranges and not query.orders):
        return None
    leading = []
    for where in query.filters:
        if where.op in EQUALITY and _name(where.field) not in {entry["fieldPath"] for entry in leading}:
            entry = {"fieldPath": _name(where.field)}
            entry.update({"arrayConfig": "CONTAINS"} if where.op == "array-contains" else {"order": "ASCENDING"})
            leading.append(entry)
    tail: list[dict] = []
    for where in ranges:
        if not any(entry["fieldPath"] == _name(where.field) for entry in tail):
            tail.append({"fieldPath": _name(where.field), "order": "ASCENDING"})
    for order in query.orders:
        entry = {"fieldPath": _name(order.field), "order": "DESCENDING" if order.descending else "ASCENDING"}
        tail = [existing for existing in tail if existing["fieldPath"] != entry["fieldPath"]] + [entry]
    return {"collectionGroup": query.collection.rsplit("/", 1)[-1], "queryScope": "COLLECTION",
            "fields": leading + tail, "equalityPrefix": len(leading)}


def covers(index: dict, needed: dict) -> bool:
    """Whether a declared index serves the needed one (equality fields in any order, then the rest exactly)."""
    if (index["collectionGroup"], index.get("queryScope", "COLLECTION")) != (needed["collectionGroup"],
                                                                             needed["queryScope"]):
        return False
    prefix = needed["equalityPrefix"]
    fields, wanted = index["fields"], needed["fields"]
    if len(fields) != len(wanted):
        return False
    key = lambda entry: json.dumps(entry, sort_keys=True)  # noqa: E731
    return sorted(map(key, fields[:prefix])) == sorted(map(key, wanted[:prefix])) and \
        list(map(key, fields[prefix:])) == list(map(key, wanted[prefix:]))


def declared(path: Path) -> list[dict]:
    return json.loads(path.read_text())["indexes"]
