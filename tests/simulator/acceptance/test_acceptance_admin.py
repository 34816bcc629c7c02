"""Acceptance: each admin control does what it says, seen through ib_insync; bad admin requests get 4xx."""

import time
import urllib.request
from datetime import timedelta

import pytest

from tests.support.iblib import MarketOrder, Stock
from tests.support.simulator_process import wait_until


@pytest.fixture
def private(start_simulator):
    """A simulator of its own: these controls change what every client of it sees."""
    return start_simulator(seed=51)


def spy_of(ib) -> Stock:
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    return spy


def test_price_and_move_reach_snapshots_and_streams(private, connect):
    ib = connect(private)
    spy = spy_of(ib)
    streaming = ib.reqMktData(spy)
    wait_until(lambda: streaming.last > 0, what="first ticks", pump=ib.waitOnUpdate)
    assert private.admin("POST", "/price", {"symbol": "SPY", "price": 612.5})["price"] == 612.5
    wait_until(lambda: streaming.last == 612.5, what="streamed price", pump=ib.waitOnUpdate)
    [snapshot] = ib.reqTickers(Stock("SPY", "SMART", "USD", conId=spy.conId))
    assert snapshot.last == 612.5 and snapshot.bid < 612.5 < snapshot.ask
    moved = private.admin("POST", "/price/move", {"symbol": 756733, "pct": -5})
    assert moved["price"] == pytest.approx(612.5 * 0.95, abs=0.011)
    wait_until(lambda: streaming.last == moved["price"], what="streamed move", pump=ib.waitOnUpdate)
    bars = ib.reqHistoricalData(spy, "", "2 D", "1 day", "TRADES", useRTH=True)
    assert bars[-1].close == moved["price"]
    fx = private.admin("POST", "/price", {"symbol": "EUR.USD", "price": 1.25})
    assert fx["price"] == 1.25
    ib.cancelMktData(spy)


def test_history_pin_shapes_the_last_daily_bars(private, connect):
    ib = connect(private)
    spy = spy_of(ib)
    closes = [500.0 + i for i in range(25)] + [520.0, 510.0, 505.0, 530.0, 540.0]
    private.admin("POST", "/history", {"symbol": "SPY", "closes": closes})
    bars = ib.reqHistoricalData(spy, "", "40 D", "1 day", "TRADES", useRTH=True)
    assert [bar.close for bar in bars[-30:]] == closes
    assert all(bar.high >= max(bar.open, bar.close) and bar.low <= min(bar.open, bar.close) for bar in bars)
    assert ib.reqTickers(spy)[0].last == 540.0


def test_clock_step_moves_the_gateway_clock(private, connect, sim_now):
    ib = connect(private)
    assert ib.reqCurrentTime() == sim_now
    stepped = private.admin("POST", "/clock/step", {"seconds": 3600})
    assert ib.reqCurrentTime() == sim_now + timedelta(hours=1)
    assert stepped["offset_s"] == 3600
    assert private.state()["clock"]["now"].startswith((sim_now + timedelta(hours=1)).isoformat()[:19])


def test_latency_delays_every_response(private, connect):
    ib = connect(private)
    started = time.monotonic()
    ib.reqCurrentTime()
    fast_s = time.monotonic() - started
    private.admin("POST", "/latency", {"ms": 400})
    started = time.monotonic()
    ib.reqCurrentTime()
    slow_s = time.monotonic() - started
    private.admin("POST", "/latency", {"ms": 0})
    assert slow_s >= 0.4 > fast_s
    assert private.state()["settings"]["latency_ms"] == 0


def test_drop_connections_disconnects_clients(private, connect):
    ib = connect(private)
    client_id = ib.client.clientId
    disconnected = []
    ib.disconnectedEvent += lambda: disconnected.append(True)
    assert private.admin("POST", "/drop-connections", {})["dropped"] >= 1
    # ib_insync's blocking calls raise ConnectionError as soon as the socket drops
    with pytest.raises(ConnectionError):
        ib.sleep(10)
    assert disconnected and not ib.isConnected()
    again = connect(private, client_id)
    assert again.isConnected() and again.reqCurrentTime()


def test_reject_next_and_partial_fills_controls(private, connect):
    ib = connect(private)
    spy = spy_of(ib)
    assert private.admin("POST", "/reject-next", {})
    rejected = ib.placeOrder(spy, MarketOrder("BUY", 1))
    # IB answers a rejection with error 201, then orderStatus Inactive (which ib_insync does not count as done)
    wait_until(lambda: rejected.orderStatus.status == "Inactive", what="rejected", pump=ib.waitOnUpdate)
    assert [e.errorCode for e in rejected.log if e.errorCode] == [201] and rejected.order.permId
    private.admin("POST", "/partial-fills", {"pieces": 2})
    trade = ib.placeOrder(spy, MarketOrder("BUY", 10))
    wait_until(lambda: trade.isDone() and len(trade.fills) == 2, what="two pieces", pump=ib.waitOnUpdate)
    assert [f.execution.shares for f in trade.fills] == [5, 5]


def test_state_describes_the_whole_simulator(private, connect, sim_now):
    ib = connect(private)
    spy = spy_of(ib)
    trade = ib.placeOrder(spy, MarketOrder("BUY", 3))
    wait_until(trade.isDone, what="fill", pump=ib.waitOnUpdate)
    state = private.state()
    assert {"clock", "account", "cash", "positions", "portfolio", "open_orders", "completed_orders", "executions",
            "sessions", "settings"} <= set(state)
    assert state["settings"]["seed"] == 51 and state["account"]["account"] == private.account
    assert ib.client.clientId in [s["client_id"] for s in state["sessions"]]
    assert [e["exec_id"] for e in state["executions"]] == [f.execution.execId for f in trade.fills]
    assert any(p["con_id"] == spy.conId and p["quantity"] == 3 for p in state["positions"])
    assert state["clock"]["now"].startswith(sim_now.isoformat()[:19])


@pytest.mark.parametrize("method, path, body, status, fragment", [
    ("POST", "/price", b"{not json", 400, "JSON"),
    ("POST", "/price", b"[1, 2]", 400, "object"),
    ("POST", "/price", b'{"symbol": "SPY"}', 400, "price"),
    ("POST", "/price", b'{"symbol": "SPY", "price": "high"}', 400, "price"),
    ("POST", "/price", b'{"symbol": "NOSUCH", "price": 1}', 400, "NOSUCH"),
    ("POST", "/price", b'{"symbol": "SPY", "price": -1}', 400, "price"),
    ("POST", "/price", b'{"symbol": "SPY", "price": 1, "extra": 1}', 400, "extra"),
    ("POST", "/clock/step", b'{"seconds": -5}', 400, "-5"),
    ("POST", "/partial-fills", b'{"pieces": 0}', 400, "pieces"),
    ("POST", "/latency", b'{"ms": "slow"}', 400, "ms"),
    ("GET", "/price", None, 405, "POST"),
    ("POST", "/state", b"{}", 405, "GET"),
    ("GET", "/nowhere", None, 404, "/nowhere"),
])
def test_bad_admin_requests_are_refused_with_a_reason(simulator, method, path, body, status, fragment):
    code, payload = simulator.admin_request(method, path, raw=body)
    assert code == status
    assert fragment in payload["error"]


def test_admin_answers_http_1_1_with_content_length(simulator):
    request = urllib.request.Request(f"http://{simulator.host}:{simulator.admin_port}/state")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        assert response.status == 200 and response.headers["Content-Type"] == "application/json"
        assert int(response.headers["Content-Length"]) == len(body)
