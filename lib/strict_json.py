"""JSON text as the service accepts it from a request: standard JSON only (no NaN or Infinity), no key twice in one
object, numbers that fit a float, and nesting no deeper than a limit.

Python's json module accepts NaN and Infinity, keeps the last of repeated keys, turns 1e400 into inf, and its
recursive decoder raises RecursionError on deeply nested input; each is refused here with a reason instead.
"""
from __future__ import annotations

import json
import math
import re

MAX_DEPTH = 32

# a JSON string token: brackets inside strings do not nest
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonRejected(ValueError):
    """The text is not JSON the service accepts; the message says why."""


def loads(text: str, *, max_depth: int = MAX_DEPTH):
    """The value of JSON `text`.

    Args:
        text: the JSON text.
        max_depth: the deepest nesting of arrays and objects accepted.

    Raises:
        JsonRejected: invalid JSON, NaN or Infinity, a number beyond a float's range, a key repeated in one
            object, or nesting deeper than `max_depth`.
    """
    _check_depth(text, max_depth)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          object_pairs_hook=_unique_keys)
    except JsonRejected:
        raise
    except ValueError as exc:
        raise JsonRejected(f"not valid JSON: {exc}") from None


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > max_depth:
            raise JsonRejected(f"JSON nested deeper than {max_depth} levels")


def _refuse_constant(name: str):
    raise JsonRejected(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(f"the number {text[:40]} is beyond the range of a float")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise JsonRejected(f"the key {key[:80]!r} appears twice in one object")
        result[key] = value
    return result
