"""Holdings ledger: exactly-once execution application and the cumulative split rule."""
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.broker.parsing import ExecutionFill
from lib.store.memory import MemoryStore
from lib.trading.ledger import Ledger, cumulative_split
from lib.trading.reconciliation import clear_finished_orders


def fill(exec_id, shares, side="BOT", perm_id=900, order_id=7, con_id=756733, order_ref="run-1"):
    return ExecutionFill(exec_id=exec_id, perm_id=perm_id, order_id=order_id, client_id=1, con_id=con_id,
                         order_ref=order_ref, side=side, shares=shares, price=600.0, time="2026-11-24T15:00:00+00:00")


@pytest.mark.parametrize("source, net, cumulative, expected", [
    ({"a": 2, "b": 1}, 3, 1, {"a": 1, "b": 0}),
    ({"a": 2, "b": 1}, 3, 2, {"a": 1, "b": 1}),
    ({"a": 2, "b": 1}, 3, 3, {"a": 2, "b": 1}),
    ({"a": 1, "b": 1}, 2, 1, {"a": 1, "b": 0}),          # tie: strategy id order
    ({"a": -2, "b": -1}, -3, -1, {"a": -1, "b": 0}),      # sells mirror buys
    ({"a": 5, "b": -2}, 3, 3, {"a": 5, "b": -2}),         # netted opposite sources end exact
    ({"a": 4}, 4, 0, {"a": 0}),
])
def test_cumulative_split_table(source, net, cumulative, expected):
    assert cumulative_split(source, net, cumulative) == expected


@pytest.mark.parametrize("net, cumulative", [(3, 4), (3, -1), (0, 1)])
def test_cumulative_split_refuses_fills_beyond_the_order(net, cumulative):
    with pytest.raises(ValueError):
        cumulative_split({"a": net}, net, cumulative)


@given(st.dictionaries(st.sampled_from("abcd"), st.integers(1, 50), min_size=1),
       st.data())
def test_split_always_sums_and_ends_exact(source, data):
    net = sum(source.values())
    cumulative = data.draw(st.integers(0, net))
    parts = cumulative_split(source, net, cumulative)
    assert sum(parts.values()) == cumulative
    assert all(0 <= parts[s] <= source[s] for s in source)
    assert cumulative_split(source, net, net) == source


def pending(order_id, quantity, source, order_ref="run-1"):
    return {"orderId": order_id, "clientId": 1, "conId": 756733, "orderRef": order_ref, "quantity": quantity,
            "source": source, "placedAt": "2026-11-24T14:59:00+00:00"}


@pytest.fixture
def ledger():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 30, {"a": 20, "b": 10})])
    ledger.settle(client_id=1, order_id=7, perm_id=900, status="Submitted", fills=[], done=False)
    return ledger


def test_partial_fills_split_exactly_and_close_the_order(ledger):
    assert ledger.in_flight("a") == {756733: 20}
    assert ledger.apply(fill("e1", 10)) == {"a": 7, "b": 3}
    assert ledger.apply(fill("e2", 20)) == {"a": 13, "b": 7}
    assert ledger.holdings("a") == {756733: 20}
    assert ledger.holdings("b") == {756733: 10}
    assert ledger.open_orders() == []
    assert ledger.in_flight("a") == {}


def test_an_execution_applies_once(ledger):
    ledger.apply(fill("e1", 10))
    assert ledger.apply(fill("e1", 10)) is None
    assert ledger.holdings("a") == {756733: 7}


def test_settle_and_a_later_apply_count_an_execution_once(ledger):
    assert ledger.settle(client_id=1, order_id=7, perm_id=900, status="Submitted", fills=[fill("e1", 10)],
                         done=False) == {"a": 7, "b": 3}
    assert ledger.apply(fill("e1", 10)) is None
    assert ledger.settle(client_id=1, order_id=7, perm_id=900, status="Filled",
                         fills=[fill("e1", 10), fill("e2", 20)], done=True) == {"a": 13, "b": 7}
    assert ledger.holdings("a") == {756733: 20} and ledger.open_orders() == []


def test_a_final_order_is_removed_with_its_unfilled_part(ledger):
    ledger.settle(client_id=1, order_id=7, perm_id=900, status="Cancelled", fills=[fill("e1", 10)], done=True)
    assert ledger.holdings("a") == {756733: 7} and ledger.holdings("b") == {756733: 3}
    assert ledger.open_orders() == [] and ledger.in_flight("a") == {}


def test_a_pending_order_matches_by_order_id_before_ib_gave_a_perm_id():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 30, {"a": 20, "b": 10})])
    assert ledger.open_orders()[0]["status"] == "PendingSubmit"
    assert ledger.in_flight("b") == {756733: 10}
    assert ledger.apply(fill("e1", 30, perm_id=555)) == {"a": 20, "b": 10}


def test_an_execution_teaches_a_record_without_a_perm_id_its_perm_id():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 30, {"a": 20, "b": 10})])
    assert ledger.apply(fill("e1", 10, perm_id=555)) == {"a": 7, "b": 3}
    [record] = ledger.open_orders()
    assert record["permId"] == 555 and record["filled"] == 10


def test_a_record_with_applied_executions_is_never_classed_as_never_sent():
    """No permId (the confirmation timed out) and an execution applied: IB no longer listing it as working two
    minutes on does not make it an order that never reached IB; its later executions still match it."""
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 30, {"a": 20, "b": 10})])
    ledger.apply(fill("e1", 10, perm_id=0))
    later = datetime.fromisoformat("2026-11-24T15:10:00+00:00")
    assert clear_finished_orders(ledger, [], {}, later) == []
    assert ledger.apply(fill("e2", 20, perm_id=0)) == {"a": 13, "b": 7}
    assert ledger.open_orders() == []


def test_a_record_without_executions_or_perm_id_never_reached_ib():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 30, {"a": 20, "b": 10})])
    later = datetime.fromisoformat("2026-11-24T15:10:00+00:00")
    [removed] = clear_finished_orders(ledger, [], {}, later)
    assert removed["reason"] == "never reached the broker" and ledger.open_orders() == []


def test_fallback_match_by_order_id_and_conid(ledger):
    assert ledger.apply(fill("e1", 30, perm_id=0)) == {"a": 20, "b": 10}


def test_unknown_execution_changes_nothing(ledger):
    assert ledger.apply(fill("e9", 5, perm_id=1, order_id=99, order_ref="")) is None
    assert ledger.holdings("a") == {}


def test_closing_a_position_removes_the_conid(ledger):
    ledger.apply(fill("e1", 30))
    ledger.record_pending([pending(8, -30, {"a": -20, "b": -10}, order_ref="run-2")])
    ledger.apply(fill("e2", 30, side="SLD", perm_id=901, order_id=8))
    assert ledger.holdings("a") == {} and ledger.holdings("b") == {}


def test_a_correction_of_a_partial_fill_changes_holdings_by_the_difference():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 5, {"a": 5})])
    ledger.settle(client_id=1, order_id=7, perm_id=900, status="Submitted", fills=[fill("e1.01", 2)], done=False)
    # IB corrects the execution: 3 shares, not 2 (same execId up to the last period)
    assert ledger.apply(fill("e1.02", 3)) == {"a": 1}
    assert ledger.holdings("a") == {756733: 3}
    [order] = ledger.open_orders()
    assert order["filled"] == 3 and order["allocated"] == {"a": 3}
    assert ledger.apply(fill("e1.02", 3)) is None      # exactly once, corrections too
    ledger.apply(fill("e2.01", 2))
    assert ledger.holdings("a") == {756733: 5} and ledger.open_orders() == []


def test_a_correction_after_the_order_completed_rescales_its_split():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 4, {"a": 2, "b": 2})])
    assert ledger.apply(fill("e1.01", 4)) == {"a": 2, "b": 2}
    assert ledger.open_orders() == []
    assert ledger.apply(fill("e1.02", 2)) == {"a": -1, "b": -1}
    assert (ledger.holdings("a"), ledger.holdings("b")) == ({756733: 1}, {756733: 1})
    assert ledger.apply(fill("e1.03", 3)) == {"a": 1, "b": 0}
    assert ledger.store.get("positions/paper/executions/e1.03")["corrects"] == "e1.02"
    assert (ledger.holdings("a"), ledger.holdings("b")) == ({756733: 2}, {756733: 1})


def test_a_price_correction_changes_no_holdings():
    ledger = Ledger(MemoryStore(), "paper")
    ledger.record_pending([pending(7, 2, {"a": 2})])
    ledger.apply(fill("e1.01", 2))
    assert ledger.apply(fill("e1.02", 2)) == {"a": 0}
    assert ledger.holdings("a") == {756733: 2}
