"""Coercion of request parameters that may arrive as JSON values or query-string text."""
from __future__ import annotations

from typing import Any

from lib.errors import BadRequest

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadRequest(f"parameter {name!r} must be a boolean, got {value!r}")


def as_positive_number(value: Any, name: str, *, maximum: float) -> float:
    if isinstance(value, bool):
        raise BadRequest(f"parameter {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"parameter {name!r} must be a number, got {value!r}") from None
    if not 0 < number <= maximum:
        raise BadRequest(f"parameter {name!r} must be in (0, {maximum:g}], got {value!r}")
    return number


def as_str_list(value: Any, name: str) -> list[str]:
    """A JSON list of strings, or comma-separated text from a query string."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise BadRequest(f"parameter {name!r} must be a list of strings, got {value!r}")
    return items
