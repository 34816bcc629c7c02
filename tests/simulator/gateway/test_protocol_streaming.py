"""Moving market data through the client library (tests.support.iblib): quotes several times a second, generic
ticks, keepUpToDate histories, seconds bars."""

import math

import pytest
from tests.support.iblib import IB, Stock

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW
from tests.support.simulator_process import wait_until

QUOTE_TICKS = {0, 1, 2, 3}   # bid size, bid, ask, ask size


@pytest.fixture(scope="module")
def gateway():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, seed=7)) as sim:
        yield sim


@pytest.fixture(scope="module")
def ib(gateway):
    client = IB()
    client.RaiseRequestErrors = True
    client.connect(gateway.host, gateway.port, clientId=21, timeout=5)
    yield client
    client.disconnect()


class QuoteCounter:
    """Counts the bid/ask price and size ticks a ticker receives (the library keeps only each batch's ticks)."""

    def __init__(self, ticker):
        self.count = 0
        self.batches = 0
        ticker.updateEvent += self._on_update

    def _on_update(self, ticker) -> None:
        quotes = sum(tick.tickType in QUOTE_TICKS for tick in ticker.ticks)
        self.count += quotes
        self.batches += quotes > 0


def test_a_liquid_stock_quotes_at_least_five_times_a_simulated_second(ib, gateway):
    """Four steps of a quarter second (IB's 250 ms snapshots) in regular hours: each moves bid and ask."""
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    ticker = ib.reqMktData(spy)
    try:
        wait_until(pump=ib.waitOnUpdate, condition=lambda: ticker.bid > 0)
        counter = QuoteCounter(ticker)
        for _ in range(4):
            gateway.call("step_clock", 0.25)
            wait_until(pump=ib.waitOnUpdate, condition=lambda: counter.batches, what="the quote of the new tick")
            counter.batches = 0
        assert counter.count >= 5
        assert ticker.ask - ticker.bid == pytest.approx(0.02)
    finally:
        ib.cancelMktData(spy)


def test_with_a_running_clock_quotes_stream_at_ibs_snapshot_pace():
    """Counted over two seconds of the simulator's own clock, read from RTVolume's trade times."""
    with SimulatorThread(SimulatorConfig(port=0, seed=7, start_in_session=True)) as sim:
        client = IB()
        client.connect(sim.host, sim.port, clientId=22, timeout=5)
        try:
            spy = Stock("SPY", "SMART", "USD")
            client.qualifyContracts(spy)
            ticker = client.reqMktData(spy, "233")
            wait_until(pump=client.waitOnUpdate, condition=lambda: ticker.rtTime is not None)
            start, counter = ticker.rtTime, QuoteCounter(ticker)
            wait_until(pump=client.waitOnUpdate, timeout_s=10, what="two simulated seconds",
                       condition=lambda: (ticker.rtTime - start).total_seconds() >= 2)
            assert counter.count >= 10, counter.count
        finally:
            client.disconnect()


def test_generic_ticks_233_236_165_106(ib):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    ticker = ib.reqMktData(spy, "233,236,165,106")
    generic = {}
    ticker.updateEvent += lambda t: generic.update((tick.tickType, tick.price) for tick in t.ticks)
    try:
        wait_until(pump=ib.waitOnUpdate, condition=lambda: not math.isnan(ticker.impliedVolatility)
                   and ticker.rtVolume > 0 and ticker.avVolume > 0)
        # ib_insync 0.9.86 keeps tick 46 (shortable) in the ticks only
        assert generic[46] == 3.0 and ticker.shortableShares > 1000
        assert ticker.low13week <= ticker.last <= ticker.high13week
        assert ticker.low52week <= ticker.low26week <= ticker.low13week
        assert ticker.high52week >= ticker.high26week >= ticker.high13week
        assert ticker.impliedVolatility == pytest.approx(0.18)
        assert ticker.vwap > 0 and ticker.rtTime is not None
    finally:
        ib.cancelMktData(spy)


def test_keep_up_to_date_history_updates_its_last_bar_and_adds_new_ones(ib, gateway):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    bars = ib.reqHistoricalData(spy, "", "300 S", "1 min", "TRADES", useRTH=True, keepUpToDate=True)
    try:
        first_count, first_last = len(bars), bars[-1]
        updates = []
        bars.updateEvent += lambda bar_list, has_new_bar: updates.append(has_new_bar)
        gateway.call("step_clock", 20)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: updates, what="an update of the bar in progress")
        assert len(bars) == first_count + (first_last.date != bars[-1].date)
        gateway.call("set_price", "SPY", 640.0)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: bars[-1].close == 640.0)
        assert bars[-1].high >= 640.0 >= bars[-1].low
        gateway.call("step_clock", 60)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: any(updates), what="a new bar")
        assert bars[-1].date > first_last.date and len(bars) > first_count
    finally:
        ib.cancelHistoricalData(bars)


@pytest.mark.parametrize("size", ["1 secs", "5 secs", "10 secs", "15 secs", "30 secs"])
def test_seconds_bars(ib, size):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    bars = ib.reqHistoricalData(spy, "", "300 S", size, "TRADES", useRTH=True)
    seconds = int(size.split()[0])
    assert len(bars) == 300 // seconds
    assert all(bar.low <= min(bar.open, bar.close) for bar in bars)
    assert (bars[1].date - bars[0].date).total_seconds() == seconds


class UpdateCounter:
    """Counts what a ticker's updates carried in one of its per-batch lists (domTicks, tickByTicks)."""

    def __init__(self, ticker, field: str):
        self.count = 0
        self.field = field
        ticker.updateEvent += self._on_update

    def _on_update(self, ticker) -> None:
        self.count += len(getattr(ticker, self.field))


def step_and_wait(ib, gateway, counter, steps: int, seconds: float) -> None:
    for _ in range(steps):
        before = counter.count
        gateway.call("step_clock", seconds)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: counter.count > before, what="an update of the new tick")


def test_market_depth_updates_as_the_clock_moves(ib, gateway):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    ticker = ib.reqMktDepth(spy, 5)
    try:
        wait_until(pump=ib.waitOnUpdate, condition=lambda: len(ticker.domBids) == 5 and len(ticker.domAsks) == 5)
        counter = UpdateCounter(ticker, "domTicks")
        step_and_wait(ib, gateway, counter, steps=4, seconds=0.25)
        # each moved quote rewrites the book: five levels a side
        assert counter.count >= 4 * 10
        assert ticker.domBids[0].price < ticker.domAsks[0].price
        assert [level.price for level in ticker.domBids] == sorted((level.price for level in ticker.domBids),
                                                                   reverse=True)
    finally:
        ib.cancelMktDepth(spy)


@pytest.mark.parametrize("tick_type", ["BidAsk", "MidPoint"])
def test_tick_by_tick_updates_as_the_clock_moves(ib, gateway, tick_type):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    ticker = ib.reqTickByTickData(spy, tick_type)
    ib.reqCurrentTime()
    try:
        counter = UpdateCounter(ticker, "tickByTicks")
        step_and_wait(ib, gateway, counter, steps=4, seconds=0.25)
        assert counter.count >= 4
        last = ticker.tickByTicks[-1]
        assert (last.bidPrice < last.askPrice) if tick_type == "BidAsk" else last.midPoint > 0
    finally:
        ib.cancelTickByTickData(spy, tick_type)


def test_real_time_bars_arrive_every_five_seconds_and_move(ib, gateway):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    bars = ib.reqRealTimeBars(spy, 5, "MIDPOINT", False)
    # a round trip on the same connection: the subscription is in place before the clock moves
    ib.reqCurrentTime()
    try:
        for expected in range(1, 7):
            gateway.call("step_clock", 5)
            wait_until(pump=ib.waitOnUpdate, condition=lambda: len(bars) >= expected, what=f"real-time bar {expected}")
        assert len(bars) == 6
        starts = [bar.time.timestamp() for bar in bars]
        assert all(later - earlier == 5 for earlier, later in zip(starts, starts[1:]))
        assert all(bar.high >= max(bar.open_, bar.close) and min(bar.open_, bar.close) >= bar.low for bar in bars)
        # built from the quarter-second prices: bars move inside and between themselves within half a minute
        assert any(bar.high > bar.low for bar in bars)
        assert len({bar.close for bar in bars}) > 1
    finally:
        ib.cancelRealTimeBars(bars)
