"""What a session and its request handlers use of whatever runs them, so they never import it."""

from __future__ import annotations

from typing import Any, Callable, Protocol

from simulator.engine.world import World


class Host(Protocol):
    """The side of the gateway its sessions see.

    Attributes:
        world: the engine objects requests read and change.
        latency_ms: delay added to every reply.
        max_messages_per_s: messages a client may send per second (0 = no limit).
        connectivity_lost: IB's servers are out of reach (requests that need them wait).
        execution_days: days of executions and completed orders reported (TWS's Trade Log setting; 1 = today).
    """

    world: World
    latency_ms: float
    max_messages_per_s: float
    connectivity_lost: bool
    execution_days: int

    def claim(self, session: Any, client_id: int) -> bool:
        """Register `session` as `client_id`; False when another live session holds that id."""

    def release(self, session: Any) -> None:
        """Forget the clientId `session` held (it is closing)."""

    def broker_call(self, method: Callable, *args, **kwargs) -> Any:
        """Run a broker method, then deliver the events it emitted and save the state."""

    def schedule_match(self, delay_ms: float | None = None) -> None:
        """Run the broker's matching after `delay_ms` (default: the fill delay) unless a run is already due."""

    def save_state(self) -> None:
        """Write the state file, when there is one."""

    def restart(self, seconds: float) -> None:
        """Close every connection and refuse new ones for `seconds` (IB Gateway's daily restart)."""

    def silence(self, client_id: int, order_id: int) -> None:
        """Send no callback at all about this order (a silent-order fault)."""

    def commission_withheld(self, exec_id: str) -> bool:
        """Whether this execution's commission report has not been sent yet (a commission-delay fault)."""
