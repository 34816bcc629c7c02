"""Keeps one ib_async connection to IB Gateway alive: connect, probe, detect loss, reconnect with backoff."""
from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import dataclass
from typing import Awaitable, Iterable, Iterator, TypeVar

from ib_async import IB
from ib_async.wrapper import RequestError

from lib.errors import GatewayUnavailable
from lib.gateway import ib_requests, pacing

log = logging.getLogger(__name__)

T = TypeVar("T")

CLIENT_ID_IN_USE = 326
# IB's system messages about the gateway's own link to IB's servers, sent with reqId -1 while the API socket stays
# open (TWS API message codes: interactivebrokers.github.io/tws-api/message_codes.html, "System Message Codes")
CONNECTIVITY_LOST = 1100        # "Connectivity between IB and Trader Workstation has been lost."
RESTORED_DATA_LOST = 1101       # "... has been restored - data lost." Market data subscriptions must be re-sent.
RESTORED_DATA_MAINTAINED = 1102  # "... has been restored - data maintained."
BACKOFF_JITTER = 0.1


def backoff_delays(initial_s: float, max_s: float, *, rng: random.Random | None = None) -> Iterator[float]:
    """Endless retry delays: initial_s, doubling up to max_s, each plus up to 10 % jitter.

    The jitter keeps a fleet of workers that lost the gateway together from reconnecting in lockstep.
    """
    rng = rng or random.Random()
    delay_s = initial_s
    while True:
        yield delay_s + rng.uniform(0, BACKOFF_JITTER * delay_s)
        delay_s = min(max_s, delay_s * 2)


class ClientIdInUse(ConnectionError):
    """IB refused the connection because another client holds the clientId (error 326)."""

    def __init__(self, client_id: int, text: str):
        super().__init__(f"clientId {client_id} is in use: {text}")
        self.client_id = client_id


@dataclass
class ConnectionStatus:
    """What the supervisor knows about the connection; `reconnects` counts sessions after the first."""

    connected: bool = False
    ready: bool = False
    client_id: int | None = None
    last_error: str | None = None
    reconnects: int = 0
    server_version: int | None = None

    def to_dict(self) -> dict:
        return {"connected": self.connected, "ready": self.ready, "clientId": self.client_id,
                "lastError": self.last_error, "reconnects": self.reconnects, "serverVersion": self.server_version}


class Session:
    """One synced connection: its IB object and a future that resolves (with the reason) when it ends.

    Parameters:
        ib: the connected, synced IB object.
        lost: resolves with a text saying why the session ended.
        last_data_s: loop time of the latest message from the gateway.
    """

    def __init__(self, ib: IB, lost: asyncio.Future, last_data_s: float):
        self.ib = ib
        self.lost = lost
        self.last_data_s = last_data_s

    def end(self, reason: str) -> None:
        if not self.lost.done():
            self.lost.set_result(reason)

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, abandoning it with GatewayUnavailable if the session ends first."""
        task = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait({task, self.lost}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            raise GatewayUnavailable(f"IB Gateway connection lost during the call: {self.lost.result()}")
        finally:
            if not task.done():
                task.cancel()


class ConnectionSupervisor:
    """Connects an IB object to the gateway and keeps it connected; runs on the bridge's loop.

    Each connection gets a fresh IB object, so no state from a previous session (positions, orders) survives a
    reconnect. Readiness (connected and ib_async's initial sync done) is readable from any thread.

    Parameters:
        host, port: the gateway's API socket.
        client_ids: clientId candidates; the next one is taken when IB answers 326 (clientId in use).
        connect_timeout_s: budget of one connection attempt including the initial sync.
        backoff_initial_s, backoff_max_s: retry delays after a failed attempt (doubling, capped, jittered).
        probe_interval_s: a session that received nothing for this long is probed with reqCurrentTime.
        probe_timeout_s: how long a probe may take before the socket is declared dead.
    """

    def __init__(self, *, host: str, port: int, client_ids: Iterable[int], connect_timeout_s: float,
                 backoff_initial_s: float, backoff_max_s: float, probe_interval_s: float, probe_timeout_s: float):
        self.host = host
        self.port = port
        self._client_ids = iter(client_ids)
        first_id = next(self._client_ids, None)
        if first_id is None:
            raise ValueError("client_ids yielded no clientId")
        self.connect_timeout_s = connect_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.probe_interval_s = probe_interval_s
        self.probe_timeout_s = probe_timeout_s
        self._status = ConnectionStatus(client_id=int(first_id))
        # ids IB refused (326) since the last session began: a candidate among them means the round is over
        self._refused: set[int] = set()
        self._status_lock = threading.Lock()
        self.ready_event = threading.Event()
        self.session: Session | None = None
        self._task: asyncio.Task | None = None
        self._sessions_started = 0

    # --- state readable from any thread ---------------------------------------------------------------

    def status(self) -> dict:
        with self._status_lock:
            return self._status.to_dict()

    def _update(self, **changes) -> None:
        with self._status_lock:
            for name, value in changes.items():
                setattr(self._status, name, value)
            if self._status.ready:
                self.ready_event.set()
            else:
                self.ready_event.clear()

    # --- the supervising coroutine --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, watch, reconnect, until cancelled (see stop())."""
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        delays = self._fresh_delays()
        wait_first = False
        try:
            while True:
                if wait_first:
                    await asyncio.sleep(next(delays))
                try:
                    session = await self._connect()
                except ClientIdInUse as exc:
                    self._update(connected=False, ready=False, last_error=str(exc))
                    wait_first = not self._advance_client_id()
                    continue
                except Exception as exc:  # any failed attempt is retried; the reason goes to status
                    reason = _describe(exc)
                    log.warning("connecting to IB Gateway at %s:%s failed: %s", self.host, self.port, reason)
                    self._update(connected=False, ready=False, last_error=reason)
                    wait_first = True
                    continue
                started = loop.time()
                self._activate(session)
                reason = await self._watch(session)
                self._deactivate(session, reason)
                # a session that lasted reconnects at once; a flapping one keeps backing off
                if loop.time() - started >= self.backoff_max_s:
                    delays = self._fresh_delays()
                    wait_first = False
                else:
                    wait_first = True
        finally:
            if self.session is not None:
                self._deactivate(self.session, "the bridge stopped", expected=True)
            else:
                self._update(connected=False, ready=False)

    async def stop(self) -> None:
        """Cancel run() and wait for it to disconnect."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait({task})

    def _fresh_delays(self) -> Iterator[float]:
        return backoff_delays(self.backoff_initial_s, self.backoff_max_s)

    def _advance_client_id(self) -> bool:
        """Move to the next clientId candidate; False when none is left, or every one was refused since the last
        session began (then the next one is tried after a delay)."""
        current = self._status.client_id
        self._refused.add(current)
        candidate = next(self._client_ids, None)
        if candidate is None:
            log.warning("clientId %s is in use and no other candidate is left; retrying it after a delay", current)
            return False
        self._update(client_id=int(candidate))
        if candidate in self._refused:
            log.warning("clientId %s is in use, as is every other candidate; trying clientId %s after a delay",
                        current, candidate)
            self._refused.clear()
            return False
        log.warning("clientId %s is in use; trying clientId %s", current, candidate)
        return True

    async def _connect(self) -> Session:
        """One attempt: connect and sync a fresh IB object within connect_timeout_s.

        Raises:
            ClientIdInUse: IB answered 326.
            ConnectionError, OSError, TimeoutError: the attempt failed.
        """
        client_id = self._status.client_id
        ib = IB()
        ib.RaiseRequestErrors = True
        pacing.install(ib)
        # ib_async only notices a refused clientId when its handshake times out; these listeners end it early.
        refusal: list[Exception] = []
        refused = asyncio.Event()

        def on_error(req_id, code, text, contract):
            if code == CLIENT_ID_IN_USE and not refused.is_set():
                refusal.append(ClientIdInUse(client_id, text))
                refused.set()

        def on_api_error(message):
            if not refused.is_set():
                refusal.append(ConnectionError(message))
                refused.set()

        def on_socket_closed(message):
            # ib_async stays silent when the peer closes the socket before the handshake completes
            on_api_error(message or "IB Gateway closed the connection during the handshake")

        def on_api_start():
            self._update(connected=True, server_version=ib.client.serverVersion())

        ib.errorEvent += on_error
        ib.client.apiError += on_api_error
        ib.client.apiStart += on_api_start
        ib.client.conn.disconnected += on_socket_closed
        # ib_async logs a sync request that timed out and connects anyway unless raiseSyncErrors is set; a
        # session without its positions, orders or executions would act on a partial picture, so it is no session
        connecting = asyncio.ensure_future(ib.connectAsync(
            self.host, self.port, clientId=client_id, timeout=self.connect_timeout_s, raiseSyncErrors=True))
        watching_refusal = asyncio.ensure_future(refused.wait())
        try:
            await asyncio.wait({connecting, watching_refusal}, timeout=self.connect_timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
            _raise_unless_connected(connecting, refusal, self.connect_timeout_s)
        except BaseException:
            await _cancel(connecting)
            ib.disconnect()
            raise
        finally:
            watching_refusal.cancel()
            ib.errorEvent -= on_error
            ib.client.apiError -= on_api_error
            ib.client.apiStart -= on_api_start
            ib.client.conn.disconnected -= on_socket_closed
        loop = asyncio.get_running_loop()
        return Session(ib, loop.create_future(), loop.time())

    def _activate(self, session: Session) -> None:
        self.session = session
        self._refused.clear()
        loop = asyncio.get_running_loop()

        def ended():
            session.end("IB Gateway closed the connection")

        def data_arrived():
            session.last_data_s = loop.time()

        def system_message(req_id, code, text, contract):
            if code in (CONNECTIVITY_LOST, RESTORED_DATA_LOST, RESTORED_DATA_MAINTAINED):
                self._connectivity(session, code, text)

        session.ib.disconnectedEvent += ended
        session.ib.updateEvent += data_arrived
        session.ib.errorEvent += system_message
        reconnects = self._sessions_started
        self._sessions_started += 1
        version = session.ib.client.serverVersion()
        self._update(connected=True, ready=True, last_error=None, reconnects=reconnects, server_version=version)
        log.info("IB Gateway at %s:%s ready (clientId %s, server version %s)",
                 self.host, self.port, self._status.client_id, version,
                 extra={"fields": {"event": "gatewayReady", "clientId": self._status.client_id}})

    def _connectivity(self, session: Session, code: int, text: str) -> None:
        """IB Gateway lost (1100) or regained (1101, 1102) its link to IB: the socket is fine, trading is not.

        While lost, the worker is not ready, so calls fail at once and order-capable intents answer 503 instead
        of sending orders IB cannot route; the idle probe cannot prove otherwise, since the gateway itself still
        answers reqCurrentTime.
        """
        if self.session is not session:
            return
        if code == CONNECTIVITY_LOST:
            reason = f"IB Gateway lost its connection to IB ({code}: {text})"
            log.warning(reason)
            self._update(ready=False, last_error=reason)
            return
        if code == RESTORED_DATA_LOST:
            _resubscribe_market_data(session.ib)
        log.info("IB Gateway's connection to IB is back (%s: %s)", code, text)
        self._update(ready=True, last_error=None)

    def _deactivate(self, session: Session, reason: str, *, expected: bool = False) -> None:
        session.end(reason)
        if self.session is session:
            self.session = None
        self._update(connected=False, ready=False, last_error=reason)
        session.ib.disconnect()
        log.log(logging.INFO if expected else logging.WARNING, "IB Gateway session ended: %s", reason)

    async def _watch(self, session: Session) -> str:
        """Wait until the session ends, probing it whenever it was quiet for probe_interval_s; returns why it ended.

        Any message from the gateway proves the socket alive, so only a quiet socket is probed.
        """
        loop = asyncio.get_running_loop()
        while not session.lost.done():
            quiet_s = loop.time() - session.last_data_s
            if quiet_s < self.probe_interval_s:
                await asyncio.wait({session.lost}, timeout=self.probe_interval_s - quiet_s)
                continue
            probe_started_s = loop.time()
            try:
                await asyncio.wait_for(ib_requests.current_time(session.ib), self.probe_timeout_s)
            except TimeoutError:
                # the probe may have queued behind a caller's slow reqCurrentTime; any traffic meanwhile still
                # proves the socket alive
                if session.last_data_s > probe_started_s:
                    continue
                return f"no answer to the idle probe within {self.probe_timeout_s:g} s"
            except (ConnectionError, RequestError) as exc:
                return f"idle probe failed: {_describe(exc)}"
            session.last_data_s = loop.time()
        return session.lost.result()


def _raise_unless_connected(connecting: asyncio.Future, refusal: list[Exception], timeout_s: float) -> None:
    """A refused clientId wins over everything; then the connect attempt's own outcome, a refusal, or a timeout."""
    if refusal and isinstance(refusal[0], ClientIdInUse):
        raise refusal[0]
    if connecting.done():
        connecting.result()
    elif refusal:
        raise refusal[0]
    else:
        raise TimeoutError(f"connect and initial sync did not finish within {timeout_s:g} s")


def _resubscribe_market_data(ib: IB) -> None:
    """After 1101 IB has dropped every streaming market-data subscription: send each one again under its reqId,
    so the tickers ib_async holds resume updating (generic tick lists are not kept by ib_async: plain ticks)."""
    for ticker, req_id in list(ib.wrapper.ticker2ReqId.get("mktData", {}).items()):
        ib.client.reqMktData(req_id, ticker.contract, "", False, False, [])


async def _cancel(task: asyncio.Future) -> None:
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
    elif not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
