"""One API client connection: handshake, decoding requests for their handlers, ordered and delayed replies."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Mapping

from simulator.engine import ib_messages
from simulator.engine.world import World
from simulator.gateway.host import Host
from simulator.protocol import messages
from simulator.protocol.requests import StartApi, UnknownMessage, parse_request, request_id_of
from simulator.protocol.wire import (
    API_PREFIX, MalformedRequest, WireError, decode_fields, encode_frame, encode_message, negotiate_version,
    parse_handshake, split_frames)

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 65536
HANDSHAKE_TIMEOUT_S = 10.0
RATE_WINDOW_S = 1.0

Handler = Callable[["Session", object], None]


@dataclass
class Subscriptions:
    """What a client subscribed to, with what it was last sent (so updates carry only changes).

    Parameters:
        tickers: reqId -> market data subscription.
        account_updates: reqAccountUpdates is on; account_values/portfolio hold the last values sent.
        positions: reqPositions is on; position_lines holds conId -> (quantity, avgCost) last sent.
        summaries: reqId -> (requested account summary tags, the last rows sent).
        account_multi / positions_multi: reqId -> (request, the last values / position lines sent).
        pnl / pnl_single: reqId -> last values sent (pnl_single also names its conId).
        streams: reqId -> depth, real-time bar, tick-by-tick or scanner subscription (see handlers_data).
        histories: reqId -> keepUpToDate historical data request (gateway.market_streams.HistorySubscription).
    """

    tickers: dict = field(default_factory=dict)
    account_updates: bool = False
    account_values: dict = field(default_factory=dict)
    portfolio: dict = field(default_factory=dict)
    positions: bool = False
    position_lines: dict = field(default_factory=dict)
    summaries: dict = field(default_factory=dict)
    account_multi: dict = field(default_factory=dict)
    positions_multi: dict = field(default_factory=dict)
    pnl: dict = field(default_factory=dict)
    pnl_single: dict = field(default_factory=dict)
    streams: dict = field(default_factory=dict)
    histories: dict = field(default_factory=dict)


class Session:
    """One client connection.

    Parameters:
        host: what runs the session; its world is the state this session reads and changes.
        handlers: the handler of each request type (startApi is the session's own).
        reader, writer: the connection's streams.
        server_bound: request types that need IB's servers, each mapped to whether it survives a connectivity
            loss that loses data (orders do, data requests do not); they wait while the servers are out of reach.

    The client id is claimed at startApi; replies are queued in order and written after the host's current
    latency, so a slow reply never overtakes an earlier one.
    """

    def __init__(self, host: Host, handlers: Mapping[type, Handler], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, server_bound: Mapping[type, bool] | None = None):
        self.host = host
        self._handlers = handlers
        self._server_bound = server_bound or {}
        self._waiting: list = []
        self._message_times: deque[float] = deque()
        self._reader = reader
        self._writer = writer
        self.server_version = 0
        self.client_id: int | None = None
        # the highest orderId this client was shown in an openOrder: a new order's id must be above it (TWS API,
        # "Placing Orders", The Next Valid Identifier)
        self.highest_order_id_shown = 0
        self.market_data_type = 1
        self.auto_open_orders = False
        self.hang_executions = False
        self.subs = Subscriptions()
        # requests served, by type name: what each client asked (GET /state), e.g. whether one sent a global cancel
        self.requests: Counter[str] = Counter()
        self._outbox: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        self._writer_task: asyncio.Task | None = None
        self._closing = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    @property
    def world(self) -> World:
        return self.host.world

    # --- outgoing -----------------------------------------------------------------------------------

    def send(self, *message_fields: list) -> None:
        """Queue one batch of messages; the batch is written after the current latency."""
        if self._closing or not message_fields:
            return
        payload = b"".join(encode_message(fields) for fields in message_fields)
        self._enqueue(payload)

    def error(self, req_id: int, code: int, text: str) -> None:
        self.send(messages.error(self.server_version, req_id, code, text))

    def send_notices(self, notices) -> None:
        """IB's system messages (reqId -1), (code, text) pairs, in one write."""
        self.send(*(messages.error(self.server_version, messages.NO_VALID_ID, code, text) for code, text in notices))

    def _enqueue(self, payload: bytes) -> None:
        due = asyncio.get_running_loop().time() + self.host.latency_ms / 1000.0
        self._outbox.put_nowait((due, payload))

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._outbox.get()
            if item is None:
                return
            due, payload = item
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._writer.write(payload)
            await self._writer.drain()

    # --- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until the client leaves or the session is closed."""
        self._writer_task = asyncio.create_task(self._write_loop())
        try:
            buffer = await self._handshake()
            while not self._closing:
                frames, buffer = split_frames(buffer)
                for payload in frames:
                    self._dispatch(decode_fields(payload))
                    if self._closing:
                        break
                if self._closing:
                    break
                chunk = await self._reader.read(READ_CHUNK_BYTES)
                if not chunk:
                    break
                buffer += chunk
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            log.info("client %s (clientId %s) disconnected: %r", self.peer, self.client_id, exc)
        except WireError as exc:
            log.warning("client %s broke the wire protocol: %s", self.peer, exc)
        finally:
            await self._shutdown()

    async def hang(self) -> None:
        """Accept the connection and never answer it (a handshake-hang fault), until the client leaves."""
        try:
            while not self._closing:
                if not await self._reader.read(READ_CHUNK_BYTES):
                    break
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("hanging client %s disconnected: %r", self.peer, exc)
        finally:
            await self._shutdown()

    async def _handshake(self) -> bytes:
        prefix = await asyncio.wait_for(self._reader.readexactly(len(API_PREFIX)), HANDSHAKE_TIMEOUT_S)
        if prefix != API_PREFIX:
            raise WireError(f"expected the API prefix, got {prefix!r}")
        buffer = b""
        while True:
            frames, buffer = split_frames(buffer)
            if frames:
                break
            chunk = await asyncio.wait_for(self._reader.read(READ_CHUNK_BYTES), HANDSHAKE_TIMEOUT_S)
            if not chunk:
                raise ConnectionError("closed during handshake")
            buffer += chunk
        handshake = parse_handshake(frames[0])
        self.server_version = negotiate_version(handshake)
        connection_time = self.world.clock.now().strftime("%Y%m%d %H:%M:%S") + " UTC"
        reply = f"{self.server_version}\0{connection_time}\0".encode()
        self._enqueue(encode_frame(reply))
        # anything after the handshake frame is already a request
        return b"".join(encode_frame(frame) for frame in frames[1:]) + buffer

    def close(self) -> None:
        """Stop reading; replies already queued are still written before the socket closes."""
        self._closing = True
        self._outbox.put_nowait(None)
        self._reader.feed_eof()

    def abort(self) -> None:
        """Drop the connection at once (the client sees a disconnect)."""
        self._closing = True
        transport = self._writer.transport
        if transport is not None:
            transport.abort()

    async def _shutdown(self) -> None:
        self._closing = True
        self.host.release(self)
        if self._writer_task is not None:
            self._outbox.put_nowait(None)
            try:
                await asyncio.wait_for(self._writer_task, 5.0)
            except (asyncio.TimeoutError, ConnectionError, OSError):
                self._writer_task.cancel()
        try:
            self._writer.close()
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass
        log.info("session closed: %s clientId %s", self.peer, self.client_id)

    # --- incoming -----------------------------------------------------------------------------------

    def _over_message_rate(self) -> bool:
        """Whether this message goes over the host's messages-per-second limit (it is then not served)."""
        limit = self.host.max_messages_per_s
        if not limit:
            return False
        now = asyncio.get_running_loop().time()
        times = self._message_times
        while times and now - times[0] >= RATE_WINDOW_S:
            times.popleft()
        if len(times) >= limit:
            return True
        times.append(now)
        return False

    def _dispatch(self, fields: list[str]) -> None:
        if self._over_message_rate():
            # IB's limit is 50 messages a second (message codes page, error 100); the message is refused
            self.error(request_id_of(fields, self.server_version), *ib_messages.MAX_MESSAGE_RATE)
            return
        try:
            request = parse_request(fields, self.server_version)
        except UnknownMessage as exc:
            log.warning("clientId %s sent an unknown message: %s", self.client_id, exc)
            self.error(-1, 505, f"Fatal Error: Unknown message id. {exc}")
            return
        except MalformedRequest as exc:
            log.warning("clientId %s sent a malformed message: %s", self.client_id, exc)
            self.error(request_id_of(fields, self.server_version), 320, f"Error reading request: {exc}")
            return
        if isinstance(request, StartApi):
            self._start_api(request)
            return
        if self.client_id is None:
            self.error(-1, 321, "Error validating request:-'startApi' : cause - "
                                "the API session has not been started")
            return
        self.requests[type(request).__name__] += 1
        if self.host.connectivity_lost and type(request) in self._server_bound:
            self._waiting.append(request)
            return
        self._serve(request)

    def _serve(self, request) -> None:
        handler = self._handlers.get(type(request))
        try:
            handler(self, request)
        except Exception as exc:  # one faulty request must not end the session or the gateway
            log.exception("request %s from clientId %s failed", type(request).__name__, self.client_id)
            req_id = getattr(request, "req_id", getattr(request, "order_id", -1))
            self.error(req_id, 322, f"Error processing request:-'{type(request).__name__}' : cause - {exc}")

    def _start_api(self, request: StartApi) -> None:
        if self.client_id is not None:
            self.error(-1, 321, "Error validating request:-'startApi' : cause - API already started")
            return
        if not self.host.claim(self, request.client_id):
            self.error(-1, 326, "Unable to connect as the client id is already in use. "
                                "Retry with a unique client id.")
            log.info("refused %s: clientId %s already in use", self.peer, request.client_id)
            self.close()
            return
        self.client_id = request.client_id
        log.info("client %s started the API with clientId %s (server version %s)",
                 self.peer, self.client_id, self.server_version)
        self.send(messages.next_valid_id(self.world.broker.next_valid_id(self.client_id)),
                  messages.managed_accounts([self.world.account]))
        self.send_notices(messages.FARM_STATUS)
        if self.host.connectivity_lost:
            self.error(messages.NO_VALID_ID, *ib_messages.CONNECTIVITY_LOST)

    def resume(self, *, data_lost: bool) -> None:
        """IB's servers are back: serve the requests that waited for them, except, when data was lost, the data
        requests (they are never answered) and the market data subscriptions (clients must resubscribe)."""
        waiting, self._waiting = self._waiting, []
        if data_lost:
            self.subs.tickers.clear()
            self.subs.streams.clear()
            self.subs.histories.clear()
        for request in waiting:
            if self._closing:
                return
            if not data_lost or self._server_bound.get(type(request), False):
                self._serve(request)
