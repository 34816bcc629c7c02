"""Finding 9 end to end: IB lists executions and completed orders of the current day only; orders that ended on an
earlier day no longer block their strategy, and eod-check applies the day's fills before the day ends."""
from __future__ import annotations

from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.simulator_process import wait_until

DUMMY = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
# the frozen clock starts at 10:30 New York; CME's session closes at 17:00 New York, a new day's lists at midnight
TO_AFTER_THE_CLOSE_S = 7 * 3600
TO_NEXT_MORNING_S = 16 * 3600


def test_an_order_that_expired_on_an_earlier_day_no_longer_blocks_its_strategy(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # a buy limit 5% under the market rests all day and expires at the close (tif DAY)
    first = t.allocate(**DUMMY, orderProperties={"limitOffsetPercent": -5})
    [order] = first["orders"]
    assert order["status"] in ("PreSubmitted", "Submitted")
    t.simulator.admin("POST", "/clock/step", {"seconds": TO_AFTER_THE_CLOSE_S})
    t.simulator.admin("POST", "/clock/step", {"seconds": TO_NEXT_MORNING_S})
    assert t.simulator.state()["open_orders"] == [] and t.broker_positions() == {}

    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    [removed] = body["removedOrders"]
    assert removed["orderId"] == order["orderId"] and removed["unfilled"] == {"dummy": 2}
    assert "no longer listed by IB" in removed["reason"]
    assert '"severity": "ERROR", "message": "order' in t.service.log()
    assert t.open_order_records() == []

    again = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                       orderProperties={"limitOffsetPercent": -4})
    assert again["strategies"]["dummy"]["inFlight"] == {}
    assert [o["quantity"] for o in again["orders"]] == [2]


def test_eod_check_applies_the_days_fills_before_the_lists_roll_over(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(**DUMMY, orderProperties={"limitOffsetPercent": -1})
    mnq = mnq_con_id(result)
    # the resting order fills after allocation answered, and nothing reconciles until the end of the day
    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": -2})
    t.wait_filled({mnq: 2})
    t.step_into_eod_window()
    status, report = t.post("eod-check")
    assert status == 200, report
    assert [a["split"] for a in report["applied"]] == [{"dummy": 2}] and report["ledgerBrokerDifferences"] == {}
    t.simulator.admin("POST", "/clock/step", {"seconds": TO_AFTER_THE_CLOSE_S + TO_NEXT_MORNING_S})

    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert body["executionsSeen"] == 0 and body["removedOrders"] == []
    assert t.holdings("dummy") == {mnq: 2} and t.open_order_records() == []


def test_an_execution_correction_changes_the_ledger_by_its_difference(trading):
    """IB corrects an execution with another one whose execId differs only after the last period ("...01.01" ->
    "...01.02"), and from then on reports only the correction."""
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/faults", {"kind": "execution-correction", "quantity": 1, "delay_s": 3})
    result = t.allocate(**DUMMY)
    mnq = mnq_con_id(result)
    t.wait_filled({mnq: 2})
    status, body = t.post("trade-reconciliation")
    assert status == 200 and [a["split"] for a in body["applied"]] in ([{"dummy": 2}], []), body
    assert t.holdings("dummy") == {mnq: 2}

    corrected = wait_until(lambda: [e for e in t.simulator.state()["executions"] if e["exec_id"].endswith(".02")],
                           timeout_s=10, what="the correction")
    assert corrected[0]["shares"] == 1 and t.broker_positions() == {mnq: 1}
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert t.holdings("dummy") == {mnq: 1} and t.open_order_records() == []
    mark = t.store.get(f"positions/paper/executions/{corrected[0]['exec_id']}")
    assert mark["corrects"].endswith(".01") and mark["split"] == {"dummy": -1}
