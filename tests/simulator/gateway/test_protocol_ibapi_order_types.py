"""IB's official ibapi client places IB's order types on a step-mode simulator whose prices the test moves: the
openOrder echo of their fields, the statuses IB sends, and a bracket whose target cancels its stop."""

import pytest
from ibapi.contract import Contract
from ibapi.order import Order

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW
from tests.support.ibapi_client import RecordingApp


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, fills="step")) as running:
        yield running


@pytest.fixture(scope="module")
def app(sim):
    client = RecordingApp().start(sim.host, sim.port, 41)
    yield client
    client.stop()


def stock(symbol: str) -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = symbol, "STK", "SMART", "USD"
    return contract


def order(action, quantity, order_type, **fields) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType = action, quantity, order_type
    for name, value in fields.items():
        setattr(o, name, value)
    return o


def status(app, order_id, wanted):
    return app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == order_id and e[2] == wanted)


def echo(app, order_id) -> Order:
    return [e for e in app.of("openOrder") if e[1] == order_id][-1][2]


@pytest.mark.parametrize("symbol, price, terms, move_to, fill", [
    ("SPY", 600.0, {"auxPrice": 595.0, "tif": "GTC"}, 594.5, 594.49),
    ("QQQ", 500.0, {"trailingPercent": 1.0, "trailStopPrice": 495.0}, 494.0, 493.99),
])
def test_simulated_stops_rest_presubmitted_and_echo_their_fields(app, sim, symbol, price, terms, move_to, fill):
    sim.call("set_price", symbol, price)
    order_id = app.wait_for(lambda e: e[0] == "nextValidId")[1] + len(app.of("openOrder")) + 10
    order_type = "STP" if "auxPrice" in terms else "TRAIL"
    app.placeOrder(order_id, stock(symbol), order("SELL", 5, order_type, **terms))
    status(app, order_id, "PreSubmitted")
    placed = echo(app, order_id)
    assert placed.orderType == order_type and placed.tif == terms.get("tif", "DAY")
    for name, value in terms.items():
        assert getattr(placed, name) == value, name
    sim.call("set_price", symbol, move_to)
    sim.call("match")
    status(app, order_id, "Filled")
    [execution] = [e[3] for e in app.of("execDetails") if e[3].orderId == order_id]
    assert execution.price == pytest.approx(fill)


def test_a_bracket_order_works_its_children_as_one_oca_group(app, sim):
    sim.call("set_price", "GLD", 300.0)
    parent_id = app.wait_for(lambda e: e[0] == "nextValidId")[1] + 100
    gld = stock("GLD")
    app.placeOrder(parent_id, gld, order("BUY", 10, "LMT", lmtPrice=300.05, transmit=False))
    app.placeOrder(parent_id + 1, gld, order("SELL", 10, "LMT", lmtPrice=305.0, parentId=parent_id,
                                             transmit=False))
    app.placeOrder(parent_id + 2, gld, order("SELL", 10, "STP", auxPrice=295.0, parentId=parent_id))
    status(app, parent_id, "Submitted")
    sim.call("match")
    status(app, parent_id, "Filled")
    sim.call("match")
    status(app, parent_id + 1, "Submitted")
    app.wait_for(lambda e: e[0] == "orderStatus" and e[1] == parent_id + 2 and e[2] == "PreSubmitted" and not e[7])
    assert echo(app, parent_id + 2).parentId == parent_id and echo(app, parent_id + 2).auxPrice == 295.0
    sim.call("set_price", "GLD", 306.0)
    sim.call("match")
    status(app, parent_id + 1, "Filled")
    status(app, parent_id + 2, "Cancelled")
    assert not [e for e in app.of("execDetails") if e[3].orderId == parent_id + 2]


def test_an_oca_group_cancels_the_rest_when_one_fills(app, sim):
    sim.call("set_price", "TLT", 90.0)
    first = app.wait_for(lambda e: e[0] == "nextValidId")[1] + 200
    for offset, limit in enumerate((89.95, 89.5)):
        app.placeOrder(first + offset, stock("TLT"), order("BUY", 10, "LMT", lmtPrice=limit, ocaGroup="tlt-entry",
                                                           ocaType=1))
        status(app, first + offset, "Submitted")
    assert (echo(app, first).ocaGroup, echo(app, first).ocaType) == ("tlt-entry", 1)
    sim.call("set_price", "TLT", 89.9)
    sim.call("match")
    status(app, first, "Filled")
    status(app, first + 1, "Cancelled")
