"""Acceptance: step mode (`--fills step`) gives the same permIds, execIds and prices in every run, whatever order
two concurrent clients' orders arrive in; an ib_insync client and an ibapi client place them from their own
threads, one run with the ib_insync client's orders arriving first, the other with the ibapi client's."""

import asyncio
import threading
import time

from ibapi.contract import Contract
from ibapi.order import Order

from tests.support.iblib import IB, MarketOrder, Stock
from tests.support.ibapi_client import RecordingApp
from tests.support.simulator_process import wait_until

INSYNC_CLIENT, IBAPI_CLIENT = 201, 202
INSYNC_ORDERS = [("SPY", "BUY", 10), ("QQQ", "SELL", 6), ("GLD", "BUY", 4)]
IBAPI_ORDERS = [("SPY", "SELL", 4), ("TLT", "BUY", 8)]
PIECES = 2
DEADLINE_S = 15


class Turn:
    """Lets the client whose turn it is place its orders; the other waits until the gateway has them all."""

    def __init__(self, simulator, first: str):
        self._simulator = simulator
        self._first = first
        self._ready = threading.Barrier(2)

    def wait(self, client: str, placed_before: int) -> None:
        self._ready.wait(DEADLINE_S)
        if client != self._first:
            wait_until(lambda: len(self._simulator.state()["open_orders"]) >= placed_before, timeout_s=DEADLINE_S,
                       what="the other client's orders")


def insync_client(simulator, turn: Turn, report: dict) -> None:
    """Connect, place INSYNC_ORDERS when it is this client's turn, wait for the fills."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    ib = IB()
    try:
        ib.connect(simulator.host, simulator.port, clientId=INSYNC_CLIENT, timeout=10)
        contracts = {symbol: Stock(symbol, "SMART", "USD") for symbol, _, _ in INSYNC_ORDERS}
        ib.qualifyContracts(*contracts.values())
        turn.wait("insync", placed_before=len(IBAPI_ORDERS))
        trades = [ib.placeOrder(contracts[symbol], MarketOrder(action, quantity)) for symbol, action, quantity
                  in INSYNC_ORDERS]
        deadline = time.monotonic() + DEADLINE_S
        while not all(t.orderStatus.status == "Filled" for t in trades) and time.monotonic() < deadline:
            ib.waitOnUpdate(0.1)
        report["fills"] = sorted((f.execution.clientId, f.execution.orderId, f.execution.permId, f.execution.execId,
                                  f.execution.shares, f.execution.price) for t in trades for f in t.fills)
    finally:
        ib.disconnect()
        asyncio.get_event_loop().close()


def stock(symbol: str) -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = symbol, "STK", "SMART", "USD"
    return contract


def ibapi_client(simulator, turn: Turn, report: dict) -> None:
    app = RecordingApp().start(simulator.host, simulator.port, IBAPI_CLIENT)
    try:
        first = app.of("nextValidId")[-1][1]
        numbered = list(enumerate(IBAPI_ORDERS, start=first))
        turn.wait("ibapi", placed_before=len(INSYNC_ORDERS))
        for order_id, (symbol, action, quantity) in numbered:
            order = Order()
            order.action, order.totalQuantity, order.orderType = action, quantity, "MKT"
            app.placeOrder(order_id, stock(symbol), order)
        for order_id, _ in numbered:
            app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == "Filled", DEADLINE_S)
        report["fills"] = sorted((e.clientId, e.orderId, e.permId, e.execId, e.shares, e.price)
                                 for _, _, _, e in app.of("execDetails"))
    finally:
        app.stop()


def one_run(start_simulator, first: str) -> list[tuple]:
    simulator = start_simulator(seed=81, fills="step")
    simulator.admin("POST", "/partial-fills", {"pieces": PIECES})
    turn = Turn(simulator, first)
    reports = {"insync": {}, "ibapi": {}}
    threads = [threading.Thread(target=insync_client, args=(simulator, turn, reports["insync"])),
               threading.Thread(target=ibapi_client, args=(simulator, turn, reports["ibapi"]))]
    for thread in threads:
        thread.start()
    total = len(INSYNC_ORDERS) + len(IBAPI_ORDERS)
    wait_until(lambda: len(simulator.state()["open_orders"]) == total, timeout_s=DEADLINE_S,
               what="every order to reach the gateway")
    # nothing fills in step mode until asked
    assert not simulator.state()["executions"]
    made = simulator.admin("POST", "/match", {"rounds": PIECES})["executions"]
    for thread in threads:
        thread.join(DEADLINE_S)
    assert len(made) == total * PIECES
    state = simulator.state()
    assert not state["open_orders"] and len(state["executions"]) == total * PIECES
    return reports["insync"]["fills"] + reports["ibapi"]["fills"]


def test_step_mode_gives_the_same_ids_and_prices_whatever_the_arrival_order(start_simulator):
    first = one_run(start_simulator, first="insync")
    second = one_run(start_simulator, first="ibapi")
    assert len(first) == (len(INSYNC_ORDERS) + len(IBAPI_ORDERS)) * PIECES
    assert first == second
    assert len({fill[3] for fill in first}) == len(first)


def test_step_mode_fills_only_on_match_or_clock_step(start_simulator, connect):
    simulator = start_simulator(seed=82)
    assert simulator.admin("POST", "/fills", {"mode": "step"}) == {"fills": "step", "clock_frozen": True}
    ib = connect(simulator)
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    trade = ib.placeOrder(spy, MarketOrder("BUY", 2))
    wait_until(lambda: trade.orderStatus.status == "Submitted", what="Submitted", pump=ib.waitOnUpdate)
    simulator.admin("POST", "/price/move", {"symbol": "SPY", "pct": 1})
    ib.sleep(0.3)    # a timer-driven fill would have come within this time (fill delay: 2 ms)
    assert not trade.fills and simulator.state()["settings"]["fills"] == "step"
    stepped = simulator.admin("POST", "/clock/step", {"seconds": 60})
    assert [e["perm_id"] for e in stepped["matched"]] == [trade.order.permId]
    wait_until(lambda: trade.orderStatus.status == "Filled", what="the fill", pump=ib.waitOnUpdate)
    simulator.admin("POST", "/fills", {"mode": "auto"})
    again = ib.placeOrder(spy, MarketOrder("BUY", 1))
    wait_until(lambda: again.orderStatus.status == "Filled", what="a timer-driven fill", pump=ib.waitOnUpdate)


def test_step_mode_reports_a_real_time_clock_frozen(start_simulator):
    simulator = start_simulator(now=None)
    assert simulator.state()["clock"]["frozen"] is False
    simulator.admin("POST", "/fills", {"mode": "step"})
    assert simulator.state()["clock"]["frozen"] is True
