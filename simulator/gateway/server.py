"""The gateway's TCP server and its registry of connected sessions by clientId."""

from __future__ import annotations

import asyncio
import logging

from simulator.gateway.dispatch import HANDLERS, SERVER_BOUND
from simulator.gateway.host import Host
from simulator.gateway.session import Session

log = logging.getLogger(__name__)


class GatewayServer:
    """Accepts API clients and knows which session holds which clientId.

    Parameters:
        host: what the sessions are given to serve requests with.
    """

    def __init__(self, host: Host):
        self._host = host
        self._server: asyncio.Server | None = None
        self._address: tuple[str, int] | None = None
        self._sessions: set[Session] = set()
        self._tasks: set[asyncio.Task] = set()
        self._by_client_id: dict[int, Session] = {}

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0 = a free port); returns the bound port."""
        self._server = await asyncio.start_server(self._serve, host, port)
        bound = self._server.sockets[0].getsockname()[1]
        self._address = (host, bound)
        return bound

    async def pause(self) -> None:
        """Stop listening (new connections are refused) and drop every connection; resume() listens again."""
        if self._server is not None:
            self._server.close()
        self.drop_all()
        if self._server is not None:
            await self._server.wait_closed()

    async def resume(self) -> None:
        """Listen again on the address of the first start."""
        host, port = self._address
        self._server = await asyncio.start_server(self._serve, host, port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self._host, HANDLERS, reader, writer, SERVER_BOUND)
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        log.info("connection from %s", session.peer)
        hang = self._host.world.faults.take("handshake-hang")
        try:
            if hang is not None and hang["stage"] == "handshake":
                await session.hang()
                return
            session.hang_executions = hang is not None
            await session.run()
        except Exception:  # a session's failure must never reach the server
            log.exception("session %s failed", session.peer)
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)

    def claim(self, session: Session, client_id: int) -> bool:
        """Register `session` as `client_id`; False when another live session holds that id."""
        holder = self._by_client_id.get(client_id)
        if holder is not None and holder is not session:
            return False
        self._by_client_id[client_id] = session
        return True

    def release(self, session: Session) -> None:
        if session.client_id is not None and self._by_client_id.get(session.client_id) is session:
            del self._by_client_id[session.client_id]

    def session_for(self, client_id: int) -> Session | None:
        return self._by_client_id.get(client_id)

    def sessions(self) -> list[Session]:
        """Sessions that started the API, in clientId order."""
        return [self._by_client_id[cid] for cid in sorted(self._by_client_id)]

    def drop_all(self) -> int:
        """Abort every client connection; returns how many were dropped."""
        sessions = list(self._sessions)
        for session in sessions:
            session.abort()
        return len(sessions)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close()
        if self._tasks:
            done, pending = await asyncio.wait(set(self._tasks), timeout=5.0)
            for task in pending:
                task.cancel()
        for session in list(self._sessions):
            session.abort()
        if self._server is not None:
            await self._server.wait_closed()
