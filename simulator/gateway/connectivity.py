"""The link between the gateway and IB's servers: up, or lost for a while with the sockets to clients left open."""

from __future__ import annotations

import asyncio
import logging

from simulator.engine import ib_messages
from simulator.gateway.fanout import Fanout
from simulator.gateway.server import GatewayServer
from simulator.protocol import messages

log = logging.getLogger(__name__)


class Connectivity:
    """Loses and restores IB's servers as IB Gateway reports it (1100, then 1101 or 1102 on the same sockets).

    Parameters:
        server: the sessions to tell.
        fanout: holds order and account events while the servers are out of reach.
    """

    def __init__(self, server: GatewayServer, fanout: Fanout):
        self._server = server
        self._fanout = fanout
        self._restore_handle: asyncio.TimerHandle | None = None
        self.lost = False

    def lose(self, seconds: float, restore: str) -> None:
        """Lose IB's servers now and restore them after `seconds` with 1102 (restore "1102") or 1101 ("1101").

        A loss while one is running extends it to end `seconds` from now.
        """
        if self._restore_handle is not None:
            self._restore_handle.cancel()
        if not self.lost:
            self.lost = True
            self._fanout.hold()
            for session in self._server.sessions():
                self.tell_lost(session)
            log.info("connectivity to IB's servers lost for %.1f s (restore with %s)", seconds, restore)
        self._restore_handle = asyncio.get_running_loop().call_later(seconds, self.restore, restore == "1101")

    def tell_lost(self, session) -> None:
        """Send `session` what IB Gateway sends while its servers are out of reach (in one write)."""
        session.send_notices((ib_messages.CONNECTIVITY_LOST, *ib_messages.FARMS_BROKEN))

    def restore(self, data_lost: bool = False) -> None:
        """Reconnect: 1102 (data maintained) or 1101 (data lost), the farms OK, then what was held and waiting."""
        self._restore_handle = None
        if not self.lost:
            return
        self.lost = False
        code, text = (ib_messages.CONNECTIVITY_RESTORED_DATA_LOST if data_lost
                      else ib_messages.CONNECTIVITY_RESTORED_DATA_KEPT)
        sessions = self._server.sessions()
        for session in sessions:
            session.send_notices(((code, text), *messages.FARM_STATUS))
        self._fanout.release()
        for session in sessions:
            session.resume(data_lost=data_lost)
        log.info("connectivity to IB's servers restored (%s)", code)

    def cancel(self) -> None:
        """Forget a pending restore (the gateway is stopping)."""
        if self._restore_handle is not None:
            self._restore_handle.cancel()
            self._restore_handle = None
