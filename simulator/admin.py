"""JSON-over-HTTP admin server that drives a running simulator's controls (tests and demos, loopback only)."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Protocol

log = logging.getLogger(__name__)

LOOPBACK_HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 1_000_000
MAX_HEADER_LINES = 100


class BadRequest(Exception):
    """The request cannot be served; carries the HTTP status and, for 405, the allowed method."""

    def __init__(self, status: HTTPStatus, message: str, allow: str | None = None):
        super().__init__(message)
        self.status = status
        self.allow = allow


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_symbol(value: Any) -> bool:
    return (isinstance(value, str) and value.strip() != "") or (isinstance(value, int) and not isinstance(value, bool))


def _is_price_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_number(v) for v in value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


# what each body field must be, with the wording used when it is not
FIELD_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "symbol": (_is_symbol, "a symbol like \"SPY\", \"EUR.USD\", \"MNQ\" or a conId number"),
    "price": (_is_number, "a number"),
    "pct": (_is_number, "a number"),
    "closes": (_is_price_list, "a list of numbers"),
    "seconds": (_is_number, "a number"),
    "pieces": (_is_number, "an integer"),
    "code": (_is_number, "an integer"),
    "text": (_is_text, "a string"),
    "ms": (_is_number, "a number"),
    "kind": (_is_text, "a fault kind (GET /faults lists them)"),
    "action": (lambda v: v in ("BUY", "SELL"), "BUY or SELL"),
    "quantity": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "order_type": (lambda v: v in ("MKT", "LMT"), "MKT or LMT"),
    "lmt_price": (lambda v: _is_number(v) and v > 0, "a positive price"),
    "tif": (lambda v: v in ("DAY", "GTC"), "DAY or GTC"),
    "outside_rth": (lambda v: isinstance(v, bool), "true or false"),
    "perm_id": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer permId"),
    "rounds": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1000,
               "an integer from 1 to 1000"),
    "mode": (lambda v: v in ("auto", "step"), "\"auto\" or \"step\""),
}


class Controls(Protocol):
    """What the routes call; each method returns a small JSON-able dict and raises KeyError/ValueError with a
    readable text on bad input."""

    def snapshot(self) -> dict: ...

    def set_price(self, symbol: str | int, price: float) -> dict: ...

    def move_price(self, symbol: str | int, pct: float) -> dict: ...

    def pin_history(self, symbol: str | int, closes: list[float]) -> dict: ...

    def step_clock(self, seconds: float) -> dict: ...

    def set_partial_fills(self, pieces: int) -> dict: ...

    def reject_next_order(self, code: int = 201, text: str | None = None) -> dict: ...

    def set_latency(self, ms: float) -> dict: ...

    def drop_connections(self) -> Awaitable[dict]: ...

    def place_manual_order(self, symbol: str | int, action: str, quantity: float, **terms) -> dict: ...

    def cancel_order(self, perm_id: int) -> dict: ...

    def match(self, rounds: int = 1) -> dict: ...

    def set_fill_mode(self, mode: str) -> dict: ...

    def arm_fault(self, kind: str, **parameters) -> dict: ...

    def list_faults(self) -> dict: ...

    def clear_faults(self) -> dict: ...


@dataclass(frozen=True)
class Route:
    """One admin endpoint.

    Parameters:
        method: the HTTP method it answers.
        required, optional: body fields it takes (anything else is refused).
        action: called as action(controls, **fields); returns a JSON-able dict or an awaitable of one.
        open_fields: fields beyond `required` go to the action unchecked (it validates them itself).
    """

    method: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    action: Callable[..., Any]
    open_fields: bool = False


ROUTES: dict[tuple[str, str], Route] = {(route.method, path): route for path, route in (
    ("/state", Route("GET", (), (), lambda ctl: ctl.snapshot())),
    ("/price", Route("POST", ("symbol", "price"), (), lambda ctl, **f: ctl.set_price(f["symbol"], f["price"]))),
    ("/price/move", Route("POST", ("symbol", "pct"), (), lambda ctl, **f: ctl.move_price(f["symbol"], f["pct"]))),
    ("/history", Route("POST", ("symbol", "closes"), (),
                       lambda ctl, **f: ctl.pin_history(f["symbol"], f["closes"]))),
    ("/clock/step", Route("POST", ("seconds",), (), lambda ctl, **f: ctl.step_clock(f["seconds"]))),
    ("/partial-fills", Route("POST", ("pieces",), (), lambda ctl, **f: ctl.set_partial_fills(f["pieces"]))),
    ("/match", Route("POST", (), ("rounds",), lambda ctl, **f: ctl.match(**f))),
    ("/fills", Route("POST", ("mode",), (), lambda ctl, **f: ctl.set_fill_mode(f["mode"]))),
    ("/reject-next", Route("POST", (), ("code", "text"), lambda ctl, **f: ctl.reject_next_order(**f))),
    ("/latency", Route("POST", ("ms",), (), lambda ctl, **f: ctl.set_latency(f["ms"]))),
    ("/drop-connections", Route("POST", (), (), lambda ctl: ctl.drop_connections())),
    ("/orders/manual", Route("POST", ("symbol", "action", "quantity"),
                             ("order_type", "lmt_price", "tif", "outside_rth"),
                             lambda ctl, **f: ctl.place_manual_order(**f))),
    ("/orders/cancel", Route("POST", ("perm_id",), (), lambda ctl, **f: ctl.cancel_order(f["perm_id"]))),
    ("/faults", Route("GET", (), (), lambda ctl: ctl.list_faults())),
    ("/faults", Route("POST", ("kind",), (), lambda ctl, **f: ctl.arm_fault(**f), open_fields=True)),
    ("/faults", Route("DELETE", (), (), lambda ctl: ctl.clear_faults())),
)}


def _paths() -> list[str]:
    return list(dict.fromkeys(path for _, path in ROUTES))


@dataclass(frozen=True)
class HttpRequest:
    """A parsed HTTP request: method, path without the query string, and the raw body."""

    method: str
    path: str
    body: bytes


def _admin_host(host: str) -> str:
    """The address to bind: `host` when it is a loopback address, else 127.0.0.1 (the admin API has no auth)."""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    log.warning("admin server binds %s, not %s: it must only be reachable from this machine", LOOPBACK_HOST, host)
    return LOOPBACK_HOST


async def start_admin_server(controls: Controls, host: str, port: int) -> asyncio.Server:
    """Serve the admin API for `controls` on host:port (0 = a free port), on the running loop."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(controls, reader, writer)

    server = await asyncio.start_server(serve, _admin_host(host), port)
    log.info("admin server listening on %s:%s", *server.sockets[0].getsockname()[:2])
    return server


async def _serve_connection(controls: Controls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        try:
            request = await asyncio.wait_for(_read_request(reader), REQUEST_TIMEOUT_S)
            status, payload = HTTPStatus.OK, await _dispatch(controls, request)
            allow = None
        except BadRequest as exc:
            status, payload, allow = exc.status, {"error": str(exc)}, exc.allow
        except asyncio.TimeoutError:
            status, payload, allow = HTTPStatus.REQUEST_TIMEOUT, {"error": "request not received in time"}, None
        except (ConnectionError, asyncio.IncompleteReadError):
            raise
        except Exception as exc:  # a failing control call must answer 500, never kill the admin server
            log.exception("admin request failed")
            status, payload, allow = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"}, None
        writer.write(_response(status, payload, allow))
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        log.info("admin client left before the reply was sent")
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        return (await reader.readline()).decode("latin-1")
    except ValueError:  # the stream's line limit: no admin request needs such a line
        raise BadRequest(HTTPStatus.BAD_REQUEST, "request or header line too long") from None


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest:
    request_line = (await _read_line(reader)).strip()
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"malformed request line {request_line!r}")
    method, target, _version = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES + 1):
        line = await _read_line(reader)
        if line in ("\r\n", "\n", ""):
            break
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(HTTPStatus.BAD_REQUEST, f"malformed header line {line.strip()!r}")
        headers[name.strip().lower()] = value.strip()
    else:
        raise BadRequest(HTTPStatus.BAD_REQUEST, "too many header lines")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequest(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not supported; send Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest(HTTPStatus.BAD_REQUEST, "Content-Length must be an integer") from None
    if length < 0:
        raise BadRequest(HTTPStatus.BAD_REQUEST, "Content-Length must not be negative")
    if length > MAX_BODY_BYTES:
        raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await reader.readexactly(length) if length else b""
    return HttpRequest(method.upper(), target.split("?", 1)[0], body)


def _parse_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    return data


def _fields(route: Route, body: dict) -> dict:
    missing = [name for name in route.required if name not in body]
    if missing:
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"missing field(s): {', '.join(missing)}")
    unknown = [] if route.open_fields else sorted(set(body) - set(route.required) - set(route.optional))
    if unknown:
        allowed = ", ".join(route.required + route.optional) or "none"
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"unknown field(s): {', '.join(unknown)} (allowed: {allowed})")
    for name, value in body.items():
        if name not in route.required + route.optional:
            continue
        check, wording = FIELD_CHECKS[name]
        if not check(value):
            raise BadRequest(HTTPStatus.BAD_REQUEST, f"{name} must be {wording}, got {json.dumps(value)}")
    return body


async def _dispatch(controls: Controls, request: HttpRequest) -> dict:
    path = request.path.rstrip("/") or "/"
    methods = {method: route for (method, route_path), route in ROUTES.items() if route_path == path}
    if not methods:
        raise BadRequest(HTTPStatus.NOT_FOUND, f"no such route {request.path}; routes: {', '.join(_paths())}")
    route = methods.get(request.method)
    if route is None:
        allowed = ", ".join(methods)
        raise BadRequest(HTTPStatus.METHOD_NOT_ALLOWED, f"{request.path} takes {allowed}, not {request.method}",
                         allow=allowed)
    fields = _fields(route, _parse_body(request.body))
    try:
        result = route.action(controls, **fields)
        if inspect.isawaitable(result):
            result = await result
    except KeyError as exc:
        # KeyError's str() adds quotes; its argument is the readable message
        raise BadRequest(HTTPStatus.BAD_REQUEST, str(exc.args[0]) if exc.args else "unknown key") from None
    except (ValueError, TypeError) as exc:
        raise BadRequest(HTTPStatus.BAD_REQUEST, str(exc)) from None
    # reads are polled by tests; only changes are worth a line at INFO
    log.log(logging.DEBUG if request.method == "GET" else logging.INFO, "admin %s %s %s", request.method,
            request.path, json.dumps(fields))
    return result


def _response(status: HTTPStatus, payload: dict, allow: str | None) -> bytes:
    body = json.dumps(payload, default=str).encode()
    headers = [f"HTTP/1.1 {status.value} {status.phrase}", "Content-Type: application/json",
               f"Content-Length: {len(body)}", "Connection: close"]
    if allow:
        headers.append(f"Allow: {allow}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body
