"""Broker persistence: to_state/from_state round trips and a restored broker continues identically."""

import json

import pytest

from simulator.engine.broker import Broker
from tests.simulator.engine.broker_fakes import (
    EURUSD, MNQ, QQQ, SPY, FakeCatalog, FakeClock, FakeMarket, Recorder, lmt, make_broker, mkt, values_by_key)


def busy_broker(market, clock):
    """A broker with positions in several currencies, resting/held/half-filled orders and used counters."""
    broker = make_broker(market=market, clock=clock)
    broker.place_order(1, 1, SPY, mkt("BUY", 100, order_ref="first"))
    broker.place_order(1, 2, EURUSD, mkt("BUY", 20_000))
    broker.place_order(2, 1, MNQ, mkt("SELL", 1))
    broker.match()
    broker.place_order(1, 3, SPY, lmt("BUY", 3, 550.0, tif="GTC", order_ref="keep",
                                      algo_params=[("adaptivePriority", "Normal")], algo_strategy="Adaptive"))
    broker.place_order(2, 2, QQQ, mkt("BUY", 5, good_after_time="20261124-18:00:00"))
    broker.partial_fill_pieces = 3
    broker.place_order(1, 4, QQQ, mkt("BUY", 9))
    broker.match()
    broker.cancel_order(1, 99)
    broker.reserve_ids(3, 10)
    broker.reject_next(201, "Order rejected - reason:saved rejection")
    return broker


def restored(broker, market, clock, recorder=None):
    state = json.loads(json.dumps(broker.to_state()))
    return Broker.from_state(state, market=market, catalog=FakeCatalog(), clock=clock,
                             listeners=[recorder] if recorder else None)


def views(broker):
    return {
        "positions": broker.positions(), "cash": broker.cash(), "values": broker.account_values(),
        "portfolio": broker.portfolio(), "open": broker.open_orders(None), "completed": broker.completed_orders(),
        "executions": broker.executions(), "ids": [broker.next_valid_id(c) for c in (1, 2, 3, 4)],
        "pieces": broker.partial_fill_pieces,
    }


def test_state_is_json_and_round_trips_every_view():
    market, clock = FakeMarket(), FakeClock()
    broker = busy_broker(market, clock)
    copy = restored(broker, market, clock)
    assert views(copy) == views(broker)
    assert copy.to_state() == broker.to_state()
    [half] = [r for r in copy.open_orders(1) if r.order_id == 4]
    assert (half.filled, half.fill_pieces, half.fill_count) == (3, 3, 1)
    assert copy.open_orders(1)[0].request.algo_params == [("adaptivePriority", "Normal")]
    assert copy.executions()[0].time == clock.now() and copy.executions()[0].time.tzinfo is not None


def continue_trading(broker, market, clock):
    """The same steps after a (possible) restart; returns what they produced."""
    recorder = Recorder()
    broker.listeners.append(recorder)
    broker.place_order(1, 5, SPY, mkt("BUY", 1))            # rejected by the saved reject_next
    broker.place_order(1, 6, SPY, mkt("SELL", 40))
    broker.match()
    broker.match()
    market.set_price(SPY.con_id, 540.0)                     # the resting limit crosses
    clock.step(3 * 3600)                                    # the held order is released
    broker.match()
    broker.place_order(3, broker.next_valid_id(3), QQQ, mkt("BUY", 2))
    for _ in range(10):
        if not broker.match():
            break
    return {
        "events": [(type(e).__name__, getattr(getattr(e, "order", None), "perm_id", None),
                    getattr(getattr(e, "order", None), "status", None)) for e in recorder.events],
        "executions": broker.executions(), "completed": broker.completed_orders(),
        "open": broker.open_orders(None), "values": values_by_key(broker), "ids": broker.next_valid_id(3),
    }


def test_a_restored_broker_continues_exactly_like_the_original():
    original_market, original_clock = FakeMarket(), FakeClock()
    original = busy_broker(original_market, original_clock)
    saved_market, saved_clock = FakeMarket(), FakeClock()
    copy = restored(busy_broker(saved_market, saved_clock), saved_market, saved_clock)
    expected = continue_trading(original, original_market, original_clock)
    actual = continue_trading(copy, saved_market, saved_clock)
    assert actual == expected
    assert not actual["open"], "the resting, held and half-filled orders all completed"
    rejected = [r for r in actual["completed"] if r.order_id == 5 and r.client_id == 1]
    assert rejected[0].reject_reason == "Order rejected - reason:saved rejection"
    perm_ids = [r.perm_id for r in actual["completed"]]
    assert len(set(perm_ids)) == len(perm_ids)
    exec_ids = [e.exec_id for e in actual["executions"]]
    assert len(set(exec_ids)) == len(exec_ids)


def test_ids_keep_increasing_after_a_restore():
    market, clock = FakeMarket(), FakeClock()
    broker = busy_broker(market, clock)
    last_perm = max(r.perm_id for r in broker.open_orders(None) + broker.completed_orders())
    last_exec = broker.executions()[-1].exec_id
    copy = restored(broker, market, clock)
    assert [copy.next_valid_id(c) for c in (1, 2, 3, 4)] == [5, 3, 11, 1]
    copy.place_order(1, 5, SPY, mkt("BUY", 1))   # takes the saved rejection
    copy.place_order(1, 6, SPY, mkt("BUY", 1))
    copy.partial_fill_pieces = 1
    copy.match()
    rejected, filled = copy.completed_orders()[-2:]
    assert rejected.completed_status == "Rejected" and filled.status == "Filled"
    assert last_perm < rejected.perm_id < filled.perm_id
    assert copy.executions()[-1].exec_id > last_exec and copy.executions()[-1].order_id == 6


def test_unknown_state_format_is_refused():
    broker = make_broker()
    state = broker.to_state()
    state["format"] = 99
    with pytest.raises(ValueError, match="format"):
        Broker.from_state(state, market=FakeMarket(), catalog=FakeCatalog(), clock=FakeClock())
