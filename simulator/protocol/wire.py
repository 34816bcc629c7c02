"""TWS wire format: length-prefixed frames of NUL-terminated fields, handshake, field codecs."""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from simulator.protocol.versions import MIN_CLIENT_VERSION, SERVER_VERSION

API_PREFIX = b"API\0"
MAX_FRAME_BYTES = 16 * 1024 * 1024
UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE = 1.7976931348623157e308

_LENGTH = struct.Struct(">I")
_VERSION_RANGE = re.compile(r"^v(\d+)(?:\.\.(\d+))?(?:\s+(.*))?$")


class WireError(ValueError):
    """A frame or handshake that breaks the framing rules (the connection cannot continue)."""


class MalformedRequest(ValueError):
    """A request whose fields cannot be read as the message id requires."""


@dataclass(frozen=True)
class Handshake:
    """What a client advertised after "API\\0".

    Parameters:
        min_version: lowest server version the client accepts.
        max_version: highest server version the client accepts.
        options: connect options such as "+PACEAPI" ("" when none).
    """

    min_version: int
    max_version: int
    options: str = ""


def format_field(value: object) -> str:
    """Render one outgoing field the way TWS does (None and unset numbers become empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return "" if value == UNSET_INTEGER else str(value)
    if isinstance(value, float):
        if value == UNSET_DOUBLE:
            return ""
        if math.isinf(value):
            return "Infinity"
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        # rounding hides binary noise such as 0.30000000000000004
        return repr(round(value, 10))
    return str(value)


def encode_frame(payload: bytes) -> bytes:
    """Prefix a payload with its big-endian 4-byte length."""
    return _LENGTH.pack(len(payload)) + payload


def encode_message(fields: list | tuple) -> bytes:
    """One framed message: every field NUL-terminated."""
    text = "".join(format_field(field) + "\0" for field in fields)
    return encode_frame(text.encode("utf-8", errors="replace"))


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete frame payloads found in `buffer` and the unconsumed rest.

    Raises:
        WireError: a frame announces more than MAX_FRAME_BYTES.
    """
    frames = []
    offset = 0
    while len(buffer) - offset >= 4:
        (size,) = _LENGTH.unpack_from(buffer, offset)
        if size > MAX_FRAME_BYTES:
            raise WireError(f"frame of {size} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
        end = offset + 4 + size
        if len(buffer) < end:
            break
        frames.append(buffer[offset + 4:end])
        offset = end
    return frames, buffer[offset:]


def decode_fields(payload: bytes) -> list[str]:
    """Split a frame payload into its fields (the trailing terminator yields no field)."""
    text = payload.decode("utf-8", errors="backslashreplace")
    fields = text.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


def parse_handshake(payload: bytes) -> Handshake:
    """Read the version range a client sends after the "API\\0" prefix ("v157..176 +PACEAPI").

    Raises:
        WireError: the text is not a version range.
    """
    text = payload.decode("ascii", errors="replace").strip("\0 ")
    match = _VERSION_RANGE.match(text)
    if not match:
        raise WireError(f"unsupported handshake {text!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low > high:
        raise WireError(f"empty version range {text!r}")
    return Handshake(low, high, (match.group(3) or "").strip())


def negotiate_version(handshake: Handshake) -> int:
    """The server version to use with this client.

    Raises:
        WireError: the client's range does not reach a version this server speaks.
    """
    version = min(handshake.max_version, SERVER_VERSION)
    if version < max(handshake.min_version, MIN_CLIENT_VERSION):
        raise WireError(
            f"client range v{handshake.min_version}..{handshake.max_version} is outside "
            f"v{MIN_CLIENT_VERSION}..{SERVER_VERSION}")
    return version


class FieldReader:
    """Sequential typed reader over one request's fields.

    Parameters:
        fields: the request's fields, message id first.
    """

    def __init__(self, fields: list[str]):
        self._fields = fields
        self._index = 0

    @property
    def remaining(self) -> int:
        return len(self._fields) - self._index

    def _next(self, what: str) -> str:
        if self._index >= len(self._fields):
            raise MalformedRequest(f"missing field {what!r} (message has {len(self._fields)} fields)")
        value = self._fields[self._index]
        self._index += 1
        return value

    def str(self, what: str = "text") -> str:
        return self._next(what)

    def str_or(self, default: str, what: str = "text") -> str:
        """Read a trailing optional field; `default` when the message ended."""
        return self._next(what) if self.remaining > 0 else default

    def int(self, what: str = "integer", default: int = 0) -> int:
        text = self._next(what).strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise MalformedRequest(f"field {what!r} is not an integer: {text!r}") from None
            if not number.is_integer():
                raise MalformedRequest(f"field {what!r} is not an integer: {text!r}") from None
            return int(number)

    def float(self, what: str = "number", default: float | None = None) -> float | None:
        """A float; `default` for an empty field (None means "unset")."""
        text = self._next(what).strip()
        if not text:
            return default
        try:
            number = float(text)
        except ValueError:
            raise MalformedRequest(f"field {what!r} is not a number: {text!r}") from None
        if number == UNSET_DOUBLE or math.isnan(number):
            return default
        return number

    def bool(self, what: str = "flag") -> bool:
        text = self._next(what).strip().lower()
        if text in ("", "0", "false"):
            return False
        if text in ("1", "true"):
            return True
        raise MalformedRequest(f"field {what!r} is not a flag: {text!r}")

    def skip(self, count: int = 1, what: str = "field") -> None:
        for _ in range(count):
            self._next(what)


def format_ib_datetime(moment: datetime, zone: str = "UTC") -> str:
    """"YYYYMMDD HH:MM:SS <zone>" as TWS reports times (parsed by both client libraries)."""
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%Y%m%d %H:%M:%S ") + zone
