"""Both broker reads of positions, reconciliation's snapshot and the dashboard's account view, count a contract
that IB's positions answer lists several times once (erdewit/ib_insync#575)."""
import asyncio
from datetime import datetime, timezone
from types import SimpleNamespace

from ib_async import Contract, Position

from lib.broker.account_view import account_view
from lib.broker.snapshots import broker_snapshot


class _IB:
    """As much of ib_async's IB as the two reads use, answering at once (no pacer: nothing waits)."""

    def __init__(self, positions):
        self.wrapper = SimpleNamespace(fills={})
        self._positions = positions

    async def reqPositionsAsync(self):
        return self._positions

    async def reqCurrentTimeAsync(self):
        return datetime(2024, 5, 6, 14, 0, tzinfo=timezone.utc)

    async def reqAllOpenOrdersAsync(self):
        return []

    async def reqCompletedOrdersAsync(self, api_only):
        return []

    async def reqExecutionsAsync(self):
        return []

    def portfolio(self):
        return []

    def accountValues(self):
        return []


ANSWER = [Position("DU1", Contract(conId=1, localSymbol="SPY"), 10, 500.0),
          Position("DU1", Contract(conId=2, localSymbol="VTI"), 3, 250.0),
          Position("DU1", Contract(conId=1, localSymbol="SPY"), 14, 501.0)]


def _run(coro):
    # asyncio.run() would leave the main thread without a current loop, which ib_async's synchronous API needs later
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_the_snapshot_and_the_account_view_list_a_contract_once_at_its_last_quantity():
    for read in (broker_snapshot, account_view):
        positions = _run(read(_IB(ANSWER))).positions
        assert [(p.con_id, p.position) for p in positions] == [(1, 14), (2, 3)], read.__name__
