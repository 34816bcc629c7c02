"""Finding 6 in fixed interleavings: `reconcile` adopts only differences two broker snapshots agree on, and two
adoptions that measured the same difference adopt it once (real SQLite transactions; a fake bridge answers the
broker snapshots)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ib_async import AccountValue

from intents.reconcile import Reconcile
from lib.broker.parsing import BrokerExecution, BrokerPosition, BrokerSnapshot, ExecutionFill
from lib.broker.snapshots import broker_snapshot
from lib.config import Settings
from lib.seed import seed
from lib.store.sqlite import SqliteStore
from lib.trading.ledger import Ledger
from tests.support.clock import NOW
from tests.support.fake_bridge import FakeBridge

ACCOUNT = "DU1234567"
AAPL = 265598
SPY = 756733


class MeetingStore(SqliteStore):
    """SQLite where a run that has read a collection waits until every run has read it: each run has compared the
    ledger's holdings with the broker by then, and none has adopted yet."""

    def __init__(self, path: str, meeting_collection: str, runs: int):
        super().__init__(path)
        self.meeting_collection = meeting_collection
        self.meeting = threading.Barrier(runs)

    def query(self, collection: str, **options) -> list:
        documents = super().query(collection, **options)
        if collection == self.meeting_collection:
            self.meeting.wait(timeout=10)
        return documents


def snapshot(executions=(), spy: int = 0) -> BrokerSnapshot:
    positions = [BrokerPosition(ACCOUNT, AAPL, "AAPL", 7, 190.0)]
    if spy:
        positions.append(BrokerPosition(ACCOUNT, SPY, "SPY", spy, 600.0))
    return BrokerSnapshot(executions=list(executions), open_orders=[], completed={}, positions=positions,
                          account_values=[AccountValue(ACCOUNT, "NetLiquidation", "1000000", "USD", "")])


def test_a_fill_between_the_executions_and_positions_answers_is_not_adopted(tmp_path):
    """The first snapshot's positions already hold a service order's fill that its executions answer lacks."""
    store = SqliteStore(str(tmp_path / "store.sqlite3"))
    seed(store, ACCOUNT)
    Ledger(store, "paper").record_pending([{"orderId": 5, "clientId": 1, "conId": SPY, "orderRef": "allocation-r1",
                                            "quantity": 100, "source": {"spymacdvixy": 100},
                                            "placedAt": NOW.isoformat()}])
    fill = ExecutionFill(exec_id="e1.01", perm_id=0, order_id=5, client_id=1, con_id=SPY, order_ref="allocation-r1",
                         side="BOT", shares=100, price=600.0, time=NOW.isoformat())
    answers = iter([snapshot(spy=100), snapshot([BrokerExecution(fill, "SPY", ACCOUNT)], spy=100),
                    snapshot([BrokerExecution(fill, "SPY", ACCOUNT)], spy=100)])
    bridge = FakeBridge({broker_snapshot: lambda: next(answers)})
    result = Reconcile(bridge=bridge, store=store, settings=Settings(), clock=lambda: NOW).run({"adopt": True})
    assert result["adopted"] == {"AAPL": 7}
    assert store.get("positions/paper/holdings/manual") == {str(AAPL): 7}
    assert store.get("positions/paper/holdings/spymacdvixy") == {str(SPY): 100}
    store.close()


def test_two_adoptions_that_measured_the_same_difference_adopt_it_once(tmp_path):
    store = MeetingStore(str(tmp_path / "store.sqlite3"), "positions/paper/holdings", runs=2)
    seed(store, ACCOUNT)
    bridge = FakeBridge({broker_snapshot: snapshot})

    def adopt(_):
        return Reconcile(bridge=bridge, store=store, settings=Settings(), clock=lambda: NOW).run({"adopt": True})

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(adopt, range(2)))
    assert sorted(r["adopted"].get("AAPL", 0) for r in results) == [0, 7], results
    assert store.get("positions/paper/holdings/manual") == {str(AAPL): 7}
    [left] = [r["notAdopted"] for r in results if not r["adopted"]]
    assert "the ledger changed while adopting" in left["AAPL"]
    store.close()
