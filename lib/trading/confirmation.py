"""Broker-confirmed positions: before a run places orders, the ledger is caught up with the day's executions and its
total in each contract is checked against IB's position. A contract IB does not confirm is not traded by that run;
a closing order never takes the account's position past zero."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from lib.deadline import Deadline
from lib.trading.ledger import Ledger
from lib.trading.reconciliation import Settled, broker_positions, settled_differences

log = logging.getLogger(__name__)

WAY_OUT = ("run `reconcile` with `adopt: true` to give the difference to a strategy (or fix the position in TWS), "
           "then run again")


@dataclass(frozen=True)
class Confirmed:
    """The ledger caught up with the broker, and the contracts whose ledger total IB does not confirm.

    Attributes:
        settled: the catch-up (`settled_differences`).
        unconfirmed: {conId: {localSymbol, ledger, broker}} (localSymbol: the conId when IB lists no position): every difference left after the catch-up, stable or
            not (one still changing means fills are landing: not confirmed either).
        broker: IB's position by conId in the last snapshot.
    """

    settled: Settled
    unconfirmed: dict[int, dict]
    broker: dict[int, int]

    def refusal(self, con_id: int) -> str | None:
        """Why the run does not trade `con_id`, or None when IB confirms the ledger's total."""
        found = self.unconfirmed.get(con_id)
        if found is None:
            return None
        return (f"not traded: the ledger's total in conId {con_id} is {found['ledger']}, IB's position "
                f"{found['broker']}; {WAY_OUT}")

    def report(self) -> dict:
        """The unconfirmed contracts by conId, for an intent's answer (empty when IB confirms them all); the
        localSymbol is IB's where it lists a position, else the conId."""
        return {str(c): dict(d) for c, d in sorted(self.unconfirmed.items())}


def confirm_positions(bridge, ledger: Ledger, account: str, clock: Callable[[], datetime], deadline: Deadline,
                      intent: str) -> Confirmed:
    """Catch the ledger up with the broker (the two-snapshot rule of `settled_differences`) and name the contracts
    whose ledger total IB does not confirm, each logged as an ERROR."""
    settled = settled_differences(bridge, ledger, account, clock, deadline)
    unconfirmed = {d["conId"]: {"localSymbol": symbol, "ledger": d["ledger"], "broker": d["broker"]}
                   for symbol, d in settled.differences.items()}
    for con_id, found in sorted(unconfirmed.items()):
        log.error("%s does not trade conId %s (%s): the ledger's total is %s, IB's position %s; %s", intent, con_id,
                  found["localSymbol"], found["ledger"], found["broker"], WAY_OUT,
                  extra={"fields": {"conId": con_id, "ledger": found["ledger"], "broker": found["broker"]}})
    broker, _ = broker_positions(settled.snapshot.positions, account)
    return Confirmed(settled, unconfirmed, broker)


def crosses_zero(broker: int, trade: int, working: int) -> bool:
    """Whether a closing `trade` could take the account's position `broker` past zero, whatever part of the
    service's orders still `working` in the contract (their signed unfilled rest) fills as well.

    A sell must leave broker + trade + min(working, 0) >= 0, a buy broker + trade + max(working, 0) <= 0: the
    position ends between broker + trade and that, and zero is where a close stops.
    """
    if trade < 0:
        return broker + trade + min(working, 0) < 0
    if trade > 0:
        return broker + trade + max(working, 0) > 0
    return False
