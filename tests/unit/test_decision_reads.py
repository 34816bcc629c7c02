"""Finding 4 in a fixed interleaving: a reconciliation applies a fill while `allocation` reads the ledger (real
SQLite transactions; a fake bridge answers the broker reads)."""
from __future__ import annotations

import threading

from ib_async import AccountValue, Future as IBFuture

from intents.allocation import Allocation, BrokerInputs, Priced, fetch_inputs, fetch_prices
from lib.broker.instruments import ByConId
from lib.broker.parsing import BrokerOrder, BrokerSnapshot, ExecutionFill
from lib.broker.snapshots import broker_snapshot
from lib.config import Settings
from lib.store.errors import StoreError
from lib.seed import seed
from lib.store.sqlite import SqliteStore
from lib.trading.ledger import Ledger
from tests.support.clock import NOW
from tests.support.fake_bridge import FakeBridge

ACCOUNT = "DU1234567"
MNQ = IBFuture(conId=730283085, symbol="MNQ", lastTradeDateOrContractMonth="20261218", exchange="CME",
               currency="USD", localSymbol="MNQZ6", multiplier="2")
LONG_SEED = 5   # dummy's weight is +1: with 1,000,000 and MNQ at 20,000 its target is 2 contracts


def inputs(strategies, held) -> BrokerInputs:
    requirements = {s.id: s.requirements(NOW.date()) for s in strategies}
    resolved = {i: MNQ for r in requirements.values() for i in r.instruments.values()}
    resolved.update({ByConId(c): MNQ for c in held})
    values = [AccountValue(ACCOUNT, "NetLiquidation", "1000000", "USD", "")]
    return BrokerInputs(NOW, values, requirements, resolved, {MNQ.conId: 0.25}, {})


def prices(contracts, base, market_data_type, today) -> Priced:
    return Priced({c.conId: 20_000.0 for c in contracts}, {"USD": 1.0})


class ReconciledMeanwhile(SqliteStore):
    """SQLite where the first read of the order records lets another writer in: a reconciliation on another
    worker that applies the fill of the order in flight. It waits for the write lock only briefly, so while a
    transaction holds the store it gives up and applies the fill afterwards."""

    def __init__(self, path: str, fill: ExecutionFill):
        super().__init__(path)
        self.fill = fill
        self.applied_between: bool | None = None
        self.other_worker = SqliteStore(path, busy_timeout_s=0.2)

    def close(self) -> None:
        self.other_worker.close()
        super().close()

    def query(self, collection: str, **options):
        documents = super().query(collection, **options)
        self._reconcile_once(collection)
        return documents

    def run_transaction(self, fn):
        return super().run_transaction(lambda tx: fn(_Watched(tx, self)))

    def _reconcile_once(self, collection: str) -> None:
        if self.applied_between is not None or not collection.endswith("/openOrders"):
            return
        outcome = {}

        def reconcile():
            try:
                outcome["changes"] = Ledger(self.other_worker, "paper").apply(self.fill)
            except StoreError:
                outcome["changes"] = None

        worker = threading.Thread(target=reconcile)
        worker.start()
        worker.join()
        self.applied_between = outcome["changes"] is not None


class _Watched:
    """A transaction whose order-record reads the store above watches."""

    def __init__(self, tx, store: ReconciledMeanwhile):
        self._tx = tx
        self._store = store

    def query(self, collection: str, **options):
        documents = self._tx.query(collection, **options)
        self._store._reconcile_once(collection)
        return documents

    def __getattr__(self, name):
        return getattr(self._tx, name)


def test_a_fill_applied_while_allocation_reads_the_ledger_counts_once(tmp_path):
    fill = ExecutionFill(exec_id="e1.01", perm_id=0, order_id=41, client_id=7, con_id=MNQ.conId,
                         order_ref="allocation-earlier", side="BOT", shares=2, price=20_000.0, time=NOW.isoformat())
    store = ReconciledMeanwhile(str(tmp_path / "store.sqlite3"), fill)
    seed(store, ACCOUNT)
    # an earlier run's order for dummy's 2 contracts: filled at the broker, its execution not applied yet
    Ledger(store, "paper").record_pending([{"orderId": 41, "clientId": 7, "conId": MNQ.conId,
                                            "orderRef": "allocation-earlier", "quantity": 2, "source": {"dummy": 2},
                                            "placedAt": NOW.isoformat()}])
    # IB lists the order as working and no position yet: the catch-up before planning changes nothing
    working = BrokerSnapshot(executions=[], open_orders=[BrokerOrder(0, 7, 41, "MNQZ6", "BUY", 2.0, "Submitted",
                                                                  "allocation-earlier")],
                             completed={}, positions=[], account_values=[])
    bridge = FakeBridge({fetch_inputs: inputs, fetch_prices: prices, broker_snapshot: lambda: working})
    result = Allocation(bridge=bridge, store=store, settings=Settings(), clock=lambda: NOW).run(
        {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": LONG_SEED}}, "dryRun": True})
    plan = result["strategies"]["dummy"]
    assert plan["targetPositions"] == {str(MNQ.conId): 2}
    # dummy is at its target whether the fill was read as in flight or as held, never as both
    assert result["consolidatedTrades"] == [], plan
    if not store.applied_between:
        assert Ledger(store, "paper").apply(fill) == {"dummy": 2}
    assert Ledger(store, "paper").view().holdings == {"dummy": {MNQ.conId: 2}}
    store.close()
