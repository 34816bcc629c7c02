"""Property: after every reconciliation, the broker's positions equal the sum of the strategies' holdings, whatever
sequence of allocations, partial fills, held orders, cancels and gateway restarts came before; on SQLite and, with
fewer examples (each step is slower there), on Firestore (Google's emulator)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.allocation import seed_for
from tests.support.macd_series import crossover_closes, no_crossover_closes
from tests.support.simulator_process import wait_until

# examples per backend: the steps are the same, Firestore's emulator makes each store round trip slower
EXAMPLES = {"sqlite": 8, "firestore": 4}
SPY_HISTORY = {"bullish": crossover_closes("bullish"), "bearish": crossover_closes("bearish"),
               "none": no_crossover_closes()}


def ledger_totals(store) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for doc in store.query("positions/paper/holdings"):
        for con_id, quantity in doc.data.items():
            totals[int(con_id)] += quantity
    return {con_id: q for con_id, q in totals.items() if q}


class LedgerMachine(RuleBasedStateMachine):
    env = None          # set by the test: a Trading environment shared by every example
    manual = None       # an ib_insync client acting as a person at another terminal
    steps: Counter = Counter()

    @rule(weight=st.sampled_from([-1, 0, 1]), spy=st.sampled_from(sorted(SPY_HISTORY)),
          pieces=st.integers(1, 3), held=st.booleans())
    def allocate(self, weight, spy, pieces, held):
        self.steps["allocate"] += 1
        t = self.env
        t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": SPY_HISTORY[spy]})
        t.simulator.admin("POST", "/partial-fills", {"pieces": pieces})
        body = {"strategies": ["dummy", "spymacdvixy"], "strategyParams": {"dummy": {"seed": seed_for(weight)}},
                "force": True}
        if held:
            now = datetime.fromisoformat(t.simulator.state()["clock"]["now"])
            body["orderProperties"] = {"goodAfterTime": (now + timedelta(seconds=60)).strftime("%Y%m%d-%H:%M:%S")}
        status, result = t.post("allocation", body)
        assert status == 200, result
        assert result["status"] == "done", result

    @rule()
    def release_held_orders(self):
        self.steps["release"] += 1
        self.env.simulator.admin("POST", "/clock/step", {"seconds": 120})

    @rule()
    def cancel_everything_by_hand(self):
        self.steps["cancel"] += 1
        self.manual.reqGlobalCancel()
        wait_until(lambda: not [o for o in self.env.simulator.state()["open_orders"]], timeout_s=10,
                   what="the global cancel", pump=self.manual.sleep)

    @rule()
    def restart_gateway(self):
        self.steps["restart"] += 1
        self.env.restart_simulator()
        self.manual.disconnect()
        self.manual.connect(self.env.simulator.host, self.env.simulator.port, clientId=self.manual.client.clientId,
                            timeout=10)

    @rule()
    def reconcile(self):
        t = self.env
        # let every order that may fill now finish filling (held ones wait, PreSubmitted, for the clock)
        wait_until(lambda: not [o for o in t.simulator.state()["open_orders"] if o["status"] == "Submitted"],
                   timeout_s=10, what="working orders to fill")
        status, body = t.post("trade-reconciliation")
        assert status == 200, body
        broker = {con_id: int(q) for con_id, q in t.broker_positions().items()}
        assert ledger_totals(t.store) == broker
        self.steps["reconcile"] += 1

    @invariant()
    def ledger_never_holds_more_orders_than_it_placed(self):
        for record in self.env.open_order_records():
            filled = sum(record["allocated"].values())
            assert abs(filled) <= abs(record["quantity"])


@BOTH_BACKENDS
def test_broker_positions_equal_ledger_holdings_after_every_reconciliation(trading, connect, store_backend):
    env = trading(workers=1, config={"retryCheckMinutes": 0},
                  simulator_options={"fill_delay_ms": 3})
    LedgerMachine.env = env
    LedgerMachine.manual = connect(env.simulator)
    LedgerMachine.steps = Counter()
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=EXAMPLES[store_backend], stateful_step_count=10, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    print(f"steps run: {dict(LedgerMachine.steps)}")
    assert set(LedgerMachine.steps) == {"allocate", "release", "cancel", "restart", "reconcile"}
