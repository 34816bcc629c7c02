"""Broker data to plain data: the parts whose IB quirks the ledger depends on."""
import pytest
from ib_async import Contract, Order, Position, Trade, TradeLogEntry

from lib.broker.parsing import broker_status, latest_positions, outcome
from tests.support.clock import NOW


def _position(account: str, con_id: int, quantity: float) -> Position:
    return Position(account, Contract(conId=con_id), quantity, 100.0)


def test_a_contract_listed_several_times_counts_once_at_its_last_quantity():
    answer = [_position("DU1", 1, 300), _position("DU1", 2, -2), _position("DU1", 1, 600), _position("DU1", 1, 600),
              _position("DU2", 1, 5)]
    assert [(p.account, p.contract.conId, p.position) for p in latest_positions(answer)] == [
        ("DU1", 1, 600), ("DU1", 2, -2), ("DU2", 1, 5)]


def test_a_position_closed_by_a_later_update_is_zero():
    assert [p.position for p in latest_positions([_position("DU1", 1, 3), _position("DU1", 1, 0)])] == [0]


def _trade(*entries) -> Trade:
    trade = Trade(contract=Contract(conId=1), order=Order(orderId=5, action="BUY", totalQuantity=2))
    trade.log = [TradeLogEntry(NOW, status, message, code) for status, message, code in entries]
    trade.orderStatus.status = entries[-1][0]
    return trade


@pytest.mark.parametrize("entries, status", [
    ([("PendingSubmit", "", 0)], "PendingSubmit"),
    ([("PendingSubmit", "", 0), ("PreSubmitted", "", 0)], "PreSubmitted"),
    # ib_async's local cancel on IB's warning 10349: IB still works the order
    ([("PendingSubmit", "", 0), ("PreSubmitted", "", 0),
      ("Cancelled", "Error 10349, reqId 5: Order TIF was set to DAY based on order preset.", 10349)], "PreSubmitted"),
    ([("PendingSubmit", "", 0), ("Cancelled", "Error 10349, reqId 5: ...", 10349), ("Cancelled", "Fill 1.0@20.0", 0)],
     "PendingSubmit"),
    # ib_async 2.x's own status on IB's warnings about a live order (399 outside the session, 404 locating shares)
    ([("PendingSubmit", "", 0), ("PreSubmitted", "", 0),
      ("ValidationError", "Warning 399, reqId 5: Order Message: ... will not be placed until ...", 399)],
     "PreSubmitted"),
    ([("PendingSubmit", "", 0), ("PreSubmitted", "", 0), ("Inactive", "", 0),
      ("ValidationError", "Warning 404, reqId 5: Order held while securities are located.", 404)], "Inactive"),
    ([("PendingSubmit", "", 0), ("Submitted", "", 0), ("Cancelled", "Error 201, reqId 5: rejected", 201),
      ("Inactive", "", 0)], "Inactive"),
    ([("PendingSubmit", "", 0), ("Submitted", "", 0), ("Submitted", "Fill 2.0@20.0", 0), ("Filled", "", 0)],
     "Filled"),
])
def test_an_orders_status_is_the_last_one_ib_reported(entries, status):
    assert broker_status(_trade(*entries)) == status


def test_errors_on_a_working_order_are_reported_as_warnings():
    trade = _trade(("PendingSubmit", "", 0), ("Submitted", "", 0), ("Cancelled", "Error 10349, reqId 5: TIF", 10349))
    result = outcome(trade)
    assert (result.status, result.ended, result.warnings) == (
        "Submitted", False, [{"code": 10349, "message": "Error 10349, reqId 5: TIF"}])
