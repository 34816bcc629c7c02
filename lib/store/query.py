"""Queries over one collection: where clauses, orderings and a limit, validated as Firestore would."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from lib.store.limits import check_value, collection_path, field_path

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "array-contains")
RANGE_OPERATORS = ("<", "<=", ">", ">=")
DIRECTIONS = ("ASCENDING", "DESCENDING")
MAX_IN_VALUES = 30  # Firestore's limit for an `in` filter


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
            check_value(item, field, in_list=False)
    elif op == "array-contains":
        check_value(value, field, in_list=True)
    else:
        check_value(value, field, in_list=False)
    return Filter(field_path(field), op, copy.deepcopy(value))
