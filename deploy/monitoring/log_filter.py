"""The part of the Cloud Logging query language the log-based metrics of deploy/monitoring use, and an evaluator of it,
so that a test can check a filter against the log lines the service writes.

The subset (https://cloud.google.com/logging/docs/view/logging-query-language):
- a comparison `FIELD = VALUE` or `FIELD : VALUE`; FIELD is a dotted path into the LogEntry (`severity`,
  `resource.type`, `resource.labels.service_name`, `jsonPayload.event`, ...); VALUE is a double-quoted string (no
  escapes), an integer, `true` or `false`;
- `AND` and `OR` between comparisons (written out, upper case), and parentheses. As in Cloud Logging, OR binds
  tighter than AND: `a AND b OR c` is `a AND (b OR c)`.

`=` is equality, `:` is a substring test. Both compare case-sensitively, which is at least as strict as Cloud
Logging (whose `:` ignores case), so a line that matches here matches there. Anything else (NOT, `!=`, `<`, regular
expressions, implicit AND, functions) is refused by `parse`, so a filter outside the subset fails its test and the
deploy instead of going untested.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

_TOKEN = re.compile(r'\s*(?:(?P<string>"[^"\\]*")|(?P<paren>[()])|(?P<op>[=:])|(?P<word>[A-Za-z0-9_.\-]+))')


class FilterError(ValueError):
    """A filter outside the subset."""


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True)
class Junction:
    op: str  # "AND" or "OR"
    parts: tuple["Node", ...]


Node = Union[Comparison, Junction]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"cannot read {text[position:position + 20]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("the filter ends too early")
        self.at += 1
        return token

    def junction(self, op: str, operand) -> Node:
        parts = [operand()]
        while self.peek() == ("word", op):
            self.take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else Junction(op, tuple(parts))

    def conjunction(self) -> Node:
        return self.junction("AND", self.disjunction)

    def disjunction(self) -> Node:
        return self.junction("OR", self.term)

    def term(self) -> Node:
        kind, text = self.take()
        if (kind, text) == ("paren", "("):
            node = self.conjunction()
            if self.take() != ("paren", ")"):
                raise FilterError("a parenthesis is not closed")
            return node
        if kind != "word" or text in ("AND", "OR", "NOT"):
            raise FilterError(f"expected a field, got {text!r}")
        op_kind, op = self.take()
        if op_kind != "op":
            raise FilterError(f"expected = or : after {text}, got {op!r}")
        value_kind, value = self.take()
        if value_kind == "string":
            parsed: Any = value[1:-1]
        elif value in ("true", "false"):
            parsed = value == "true"
        elif value_kind == "word" and re.fullmatch(r"-?\d+", value):
            parsed = int(value)
        else:
            raise FilterError(f"expected a value after {text}{op}, got {value!r}")
        return Comparison(tuple(text.split(".")), op, parsed)


def parse(text: str) -> Node:
    """The filter as a tree; raises FilterError outside the subset."""
    parser = _Parser(text)
    node = parser.conjunction()
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek()[1]!r} (write AND or OR between comparisons)")
    return node


def _field(entry: dict, path: tuple[str, ...]) -> Any:
    value: Any = entry
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _compare(comparison: Comparison, entry: dict) -> bool:
    actual = _field(entry, comparison.path)
    if actual is None:
        return False
    expected = comparison.value
    if comparison.op == ":":
        return isinstance(actual, str) and str(expected) in actual
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, int):
        return isinstance(actual, (int, float)) and actual == expected
    return str(actual) == expected


def matches(node: Node, entry: dict) -> bool:
    """Whether the LogEntry (a dict as in the API's JSON: severity, resource, jsonPayload ...) passes the filter."""
    if isinstance(node, Comparison):
        return _compare(node, entry)
    results = (matches(part, entry) for part in node.parts)
    return all(results) if node.op == "AND" else any(results)


# Cloud Run's logging agent moves these keys of a JSON line out of jsonPayload
# (https://cloud.google.com/logging/docs/structured-logging, "Special JSON fields in messages")
_SPECIAL = {"severity", "time", "timestamp", "httpRequest", "logging.googleapis.com/trace",
            "logging.googleapis.com/spanId", "logging.googleapis.com/labels"}


def cloud_run_entry(line: dict, service: str) -> dict:
    """The LogEntry Cloud Logging makes of one JSON line the container of Cloud Run service `service` wrote."""
    entry = {"severity": line.get("severity", "DEFAULT"),
             "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
             "jsonPayload": {key: value for key, value in line.items() if key not in _SPECIAL}}
    if "httpRequest" in line:
        entry["httpRequest"] = line["httpRequest"]
    return entry
