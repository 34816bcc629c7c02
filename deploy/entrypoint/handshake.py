"""The TWS API handshake, as a readiness check of the gateway's API port.

IB Gateway opens its API port only after login. A client sends "API\\0" and a length-prefixed version range
"v<min>..<max>"; the gateway answers one length-prefixed message of two NUL-terminated fields, its server version and
connection time (ib_async client.py: Client.connectAsync and _onSocketHasData). The probe stops there: it never sends
startApi, so it takes no clientId from the service's workers.
"""
from __future__ import annotations

import asyncio
import struct

MIN_CLIENT_VERSION = 157
MAX_CLIENT_VERSION = 178  # the range ib_async 2.1.0 offers, so the gateway answers as it will for the service
MAX_REPLY_BYTES = 1024


class HandshakeFailed(ConnectionError):
    """The port accepted the connection but did not answer like a TWS API server."""


def _prefixed(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


async def api_handshake(host: str, port: int, *, timeout_s: float) -> int:
    """Complete the version exchange with the API server at host:port; returns its server version.

    Raises:
        OSError: nothing accepts connections there (ConnectionRefusedError) or the connection broke.
        asyncio.TimeoutError: no complete answer within `timeout_s`.
        HandshakeFailed: the answer is not a TWS handshake.
    """
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(b"API\0" + _prefixed(b"v%d..%d" % (MIN_CLIENT_VERSION, MAX_CLIENT_VERSION)))
            await writer.drain()
            size = struct.unpack(">I", await reader.readexactly(4))[0]
            if not 0 < size <= MAX_REPLY_BYTES:
                raise HandshakeFailed(f"handshake reply of {size} bytes")
            fields = (await reader.readexactly(size)).split(b"\0")
        except asyncio.IncompleteReadError:
            raise HandshakeFailed("the connection closed during the handshake") from None
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
    if len(fields) != 3 or fields[2] != b"" or not fields[0].isdigit():
        raise HandshakeFailed(f"unexpected handshake reply {fields[:2]!r}")
    return int(fields[0])
