"""The ledger against the broker end to end: partial fills, late fills, restarts, adoption, flattening (close-all),
on SQLite and on Firestore (Google's emulator)."""
from __future__ import annotations

from ib_async import MarketOrder, Stock

from lib.trading.ledger import cumulative_split
from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.allocation import MNQ_PRICE, SPY, mnq_con_id, seed_for
from tests.support.macd_series import crossover_closes

pytestmark = BOTH_BACKENDS


def reconcile_ok(t) -> dict:
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    return body


def short_spy_for_dummy(t, connect, quantity: int) -> None:
    """The broker holds -quantity SPY and the ledger says they are dummy's (which no longer wants them)."""
    other = connect(t.simulator)
    [spy] = other.qualifyContracts(Stock("SPY", "SMART", "USD"))
    other.placeOrder(spy, MarketOrder("SELL", quantity))
    t.wait_filled({SPY: -quantity})
    t.store.set("positions/paper/holdings/dummy", {str(SPY): -quantity})


def test_partial_fills_of_a_shared_order_are_split_exactly(trading, connect):
    t = trading(simulator_options={"fill_delay_ms": 40})
    short_spy_for_dummy(t, connect, 3)
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    t.simulator.admin("POST", "/partial-fills", {"pieces": 4})
    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(0)}},
                        force=True)
    [order] = [o for o in result["orders"] if o["conId"] == SPY]
    source = order["source"]
    target = result["strategies"]["spymacdvixy"]["targetPositions"][str(SPY)]
    assert source == {"dummy": 3, "spymacdvixy": target}

    reconcile_ok(t)       # while pieces are still arriving: the ledger explains what has filled so far
    t.wait_filled({SPY: target})
    reconcile_ok(t)
    assert t.holdings("dummy") == {}
    assert t.holdings("spymacdvixy") == {SPY: target}
    assert t.open_order_records() == []

    marks = [doc.data for doc in t.store.query("positions/paper/executions") if doc.data["conId"] == SPY
             and doc.data["orderKey"] == f"c{order['clientId']}-o{order['orderId']}"]
    assert len(marks) == 4
    cumulative, allocated = 0, {"dummy": 0, "spymacdvixy": 0}
    for mark in sorted(marks, key=lambda m: (m["time"], m["shares"])):
        assert sum(mark["split"].values()) == mark["shares"]
        for strategy, part in mark["split"].items():
            allocated[strategy] += part
        cumulative += int(mark["shares"])
    assert allocated == source
    assert cumulative_split(source, sum(source.values()), cumulative) == source


def test_a_second_reconciliation_with_nothing_new_changes_nothing(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    t.wait_filled({mnq_con_id(result): 2})
    first = reconcile_ok(t)
    holdings = t.holdings("dummy")
    marks = len(t.store.query("positions/paper/executions"))
    second = reconcile_ok(t)
    assert second["applied"] == [] and second["removedOrders"] == []
    assert second["executionsSeen"] == first["executionsSeen"]
    assert t.holdings("dummy") == holdings == {mnq_con_id(result): 2}
    assert len(t.store.query("positions/paper/executions")) == marks


def test_a_limit_order_that_fills_after_allocation_returned_is_picked_up_later(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # a buy limit 1% under the market rests until the price comes down to it
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                        orderProperties={"limitOffsetPercent": -1})
    [order] = result["orders"]
    assert order["status"] in ("PreSubmitted", "Submitted") and order["filled"] == 0
    assert order["orderType"] == "LMT" and order["limitPrice"] < MNQ_PRICE
    mnq = mnq_con_id(result)
    assert reconcile_ok(t)["openOrders"] == 1
    [record] = t.open_order_records()
    assert record["limitPrice"] == order["limitPrice"] and record["source"] == {"dummy": 2}
    assert t.holdings("dummy") == {} and t.broker_positions() == {}

    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": -2})
    t.wait_filled({mnq: 2})
    body = reconcile_ok(t)
    assert [a["split"] for a in body["applied"]] == [{"dummy": 2}]
    assert t.holdings("dummy") == {mnq: 2} and t.open_order_records() == []


def test_a_simulator_restart_between_allocation_and_reconciliation_loses_nothing(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                        orderProperties={"goodAfterTime": "today 15:00 America/New_York"})
    mnq = mnq_con_id(result)
    t.restart_simulator()
    t.simulator.admin("POST", "/clock/step", {"seconds": 5 * 3600})
    t.wait_filled({mnq: 2})
    t.restart_simulator()
    reconcile_ok(t)
    assert t.holdings("dummy") == {mnq: 2} and t.open_order_records() == []


def test_an_unknown_broker_position_is_a_500_until_adopted(trading, connect):
    t = trading()
    other = connect(t.simulator)
    [aapl] = other.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    other.placeOrder(aapl, MarketOrder("BUY", 7))
    t.wait_filled({aapl.conId: 7})

    status, body = t.post("trade-reconciliation")
    assert status == 500
    assert body["error"] == "LedgerMismatch: ledger and broker positions differ: AAPL: ledger 0, broker 7"
    [activity] = t.activity("trade-reconciliation")
    assert activity["status"] == "failed" and "AAPL" in activity["exception"]

    status, body = t.post("reconcile")
    assert status == 200 and body["differences"]["AAPL"]["broker"] == 7 and body["adopted"] == {}
    latest = t.store.get("positions/paper")["latest_portfolio"]
    assert [p["localSymbol"] for p in latest["positions"]] == ["AAPL"]
    assert latest["netLiquidation"] > 0 and latest["availableFunds"] > 0

    status, body = t.post("reconcile", {"adopt": True})
    assert status == 200 and body["adopted"] == {"AAPL": 7}
    assert t.holdings("manual") == {aapl.conId: 7}
    assert reconcile_ok(t)["applied"] == []
    adoption = [a for a in t.activity("reconcile") if a["result"]["adopted"]]
    assert adoption[0]["parameters"] == {"adopt": True, "strategy": "manual"}


def test_close_all_leaves_the_account_flat_and_the_ledger_empty(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bearish")})
    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    expected = {o["conId"]: (1 if o["action"] == "BUY" else -1) * o["quantity"] for o in result["orders"]}
    assert len(expected) == 3
    t.wait_filled(expected)
    reconcile_ok(t)

    status, dry = t.post("close-all", {"dryRun": True})
    assert status == 200 and dry["orders"] == []
    assert {trade["conId"]: trade["quantity"] for trade in dry["closingTrades"]} == \
        {con_id: -q for con_id, q in expected.items()}
    assert t.broker_positions() == expected

    status, body = t.post("close-all")
    assert status == 200, body
    assert body["unconfirmed"] == {}
    assert {o["conId"]: (1 if o["action"] == "BUY" else -1) * o["quantity"] for o in body["orders"]} == \
        {con_id: -q for con_id, q in expected.items()}
    t.wait_filled({})
    reconcile_ok(t)
    assert [doc.data for doc in t.store.query("positions/paper/holdings")] == [{}, {}]
    assert t.open_order_records() == []


def test_close_all_cancels_working_orders_and_closes_only_the_listed_strategies(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    filled = t.allocate(strategies=["spymacdvixy"])
    spy_quantity = filled["orders"][0]["quantity"]
    t.wait_filled({SPY: spy_quantity})
    held = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                      orderProperties={"goodAfterTime": "today 15:00 America/New_York"})
    assert held["orders"][0]["status"] in ("PreSubmitted", "Submitted")

    status, body = t.post("close-all", {"strategies": ["dummy"]})
    assert status == 200, body
    assert [c["source"] for c in body["cancelled"]] == [{"dummy": 2}]
    assert body["orders"] == []
    assert t.open_order_records() == []
    assert t.broker_positions() == {SPY: spy_quantity}
    assert reconcile_ok(t)["openOrders"] == 0
    assert t.holdings("spymacdvixy") == {SPY: spy_quantity}
