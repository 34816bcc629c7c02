"""Benchmark: placing and confirming 20 orders the way `allocation` does, against the simulator.

The orders are recorded in the ledger (SQLite) before sending, sent as Adaptive market orders through the bridge,
confirmed concurrently from their broker states, and settled in the ledger. Printed next to IB's pacing bound
(20 orders at 45 messages per second) and to the fixed 2 s sleep per order of the service's ancestor.
"""
from __future__ import annotations

import itertools
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import ib_async

from lib.broker import market_data
from lib.broker.instruments import Stock
from lib.broker.orders import adaptive_order, place_and_confirm
from lib.gateway.bridge import IBBridge
from lib.store.sqlite import SqliteStore
from lib.trading.ledger import Ledger
from tests.support.simulator_process import SimulatorProcess

ORDERS = 20
RUNS = 5
PACING_PER_S = 45
SYMBOLS = ("SPY", "VIXY", "QQQ", "IWM", "TLT", "IEF", "GLD", "EFA", "VTI", "AAPL", "MSFT", "AMZN", "NVDA")


def one_run(bridge: IBBridge, ledger: Ledger, contracts: list, run: int) -> float:
    started = time.perf_counter()
    client_id, order_ids = bridge.call(lambda ib: (ib.client.clientId, [ib.client.getReqId() for _ in contracts]),
                                       timeout_s=5)
    ref = f"bench-{run}"
    ledger.record_pending([{"orderId": order_id, "clientId": client_id, "conId": contract.conId, "orderRef": ref,
                            "quantity": 1 + i % 3, "source": {"bench": 1 + i % 3}, "placedAt": "now"}
                           for i, (contract, order_id) in enumerate(zip(contracts, order_ids))])
    orders = [(contract, adaptive_order("BUY", 1 + i % 3, priority="Normal", order_ref=ref, order_id=order_id))
              for i, (contract, order_id) in enumerate(zip(contracts, order_ids))]
    outcomes = bridge.run(lambda ib: place_and_confirm(ib, orders, timeout_s=20), timeout_s=30)
    for outcome in outcomes:
        ledger.settle(client_id=client_id, order_id=outcome.order_id, perm_id=outcome.perm_id,
                      status=outcome.status, fills=outcome.fills, done=False)
    elapsed = time.perf_counter() - started
    unconfirmed = [o for o in outcomes if o.status not in ("PreSubmitted", "Submitted", "Filled")]
    if unconfirmed:
        raise RuntimeError(f"orders not confirmed: {[(o.local_symbol, o.status, o.error) for o in unconfirmed]}")
    return elapsed


def main() -> None:
    with (tempfile.TemporaryDirectory() as scratch,
          SimulatorProcess(seed=3, log_path=Path(scratch) / "simulator.log") as simulator):
        store = SqliteStore(str(Path(scratch) / "store.sqlite3"))
        bridge = IBBridge(host=simulator.host, port=simulator.port, client_ids=itertools.count(800))
        try:
            bridge.start()
            if not bridge.wait_ready(20):
                raise RuntimeError(f"bridge not ready: {bridge.status()}")
            instruments = [Stock(symbol) for symbol in SYMBOLS]
            resolved = bridge.run(lambda ib: market_data.resolve(ib, instruments, date.today()), timeout_s=20)
            stocks = [resolved[i] for i in instruments]
            contracts = list(itertools.islice(itertools.cycle(stocks), ORDERS))
            ledger = Ledger(store, "paper")
            times = [one_run(bridge, ledger, contracts, run) for run in range(RUNS)]
        finally:
            bridge.stop()
            store.close()
    pacing_s = ORDERS / PACING_PER_S
    median = statistics.median(times)
    print(f"{ORDERS} orders recorded, placed, confirmed and settled ({RUNS} runs, ib_async {ib_async.__version__})")
    print(f"  wall time         median {median:6.3f} s   min {min(times):6.3f} s   max {max(times):6.3f} s")
    print(f"  pacing bound      {pacing_s:6.3f} s  ({ORDERS} orders / {PACING_PER_S} messages per s)")
    print(f"  2 s sleep/order   {2.0 * ORDERS:6.3f} s  ({2.0 * ORDERS / median:,.0f}x the median)")


if __name__ == "__main__":
    main()
