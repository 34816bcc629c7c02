"""Broker data to plain data: the parts whose IB quirks the ledger depends on."""
from ib_insync import Contract, Position

from lib.broker.parsing import latest_positions


def _position(account: str, con_id: int, quantity: float) -> Position:
    return Position(account, Contract(conId=con_id), quantity, 100.0)


def test_a_contract_listed_several_times_counts_once_at_its_last_quantity():
    answer = [_position("DU1", 1, 300), _position("DU1", 2, -2), _position("DU1", 1, 600), _position("DU1", 1, 600),
              _position("DU2", 1, 5)]
    assert [(p.account, p.contract.conId, p.position) for p in latest_positions(answer)] == [
        ("DU1", 1, 600), ("DU1", 2, -2), ("DU2", 1, 5)]


def test_a_position_closed_by_a_later_update_is_zero():
    assert [p.position for p in latest_positions([_position("DU1", 1, 3), _position("DU1", 1, 0)])] == [0]
