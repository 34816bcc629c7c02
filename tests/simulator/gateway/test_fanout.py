"""The order in which broker events reach clients (a fill before the status that already counts it), and when a
delivery saves the state."""

from dataclasses import dataclass

from simulator.engine.broker import AccountChanged
from simulator.engine.world import World
from simulator.gateway.fanout import Fanout, fills_before_status


@dataclass(frozen=True)
class View:
    order_id: int
    filled: float


@dataclass(frozen=True)
class Fill:
    client_id: int
    order_id: int
    cum_qty: float


def order(client_id: int, order_id: int, filled: float) -> tuple:
    return ("order", client_id, (object(), View(order_id, filled)))


def test_a_fill_moves_ahead_of_the_first_status_that_counts_it():
    submitted, filled = order(1, 7, 0), order(1, 7, 10)
    fill = ("execution", 1, Fill(1, 7, 10))
    assert fills_before_status([submitted, filled, fill]) == [submitted, fill, filled]


def test_statuses_of_other_orders_or_clients_keep_their_place():
    other_order, other_client = order(1, 8, 10), order(2, 7, 10)
    fill = ("execution", 1, Fill(1, 7, 10))
    reject = ("reject", 1, (7, 201, "no"))
    pending = [other_order, other_client, reject, fill]
    assert fills_before_status(pending) == pending


def test_each_piece_of_a_partial_fill_precedes_its_own_status():
    half, whole = order(1, 7, 5), order(1, 7, 10)
    first, second = ("execution", 1, Fill(1, 7, 5)), ("execution", 1, Fill(1, 7, 10))
    assert fills_before_status([half, whole, first, second]) == [first, half, second, whole]


class NoSessions:
    def sessions(self) -> list:
        return []

    def session_for(self, client_id: int):
        return None


def test_a_hold_saves_what_it_keeps_once_and_the_release_saves_again():
    saves = []
    world = World(seed=1, account="DU1234567", base_currency="USD", cash=1_000_000.0, now=None)
    fanout = Fanout(world, NoSessions(), save_state=lambda: saves.append(1))
    fanout.hold()
    fanout.on_broker_event(AccountChanged())
    fanout.deliver()
    fanout.deliver()
    assert len(saves) == 1
    fanout.on_broker_event(AccountChanged())
    fanout.deliver()
    assert len(saves) == 2
    fanout.release()
    assert len(saves) == 3
