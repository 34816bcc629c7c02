"""Unit tests of prices between whole minutes: quarter-second ticks inside their bars, seconds bars, bars in progress."""

from datetime import timedelta

import pytest

from simulator.engine.catalog import Catalog
from simulator.engine.clock import Clock
from simulator.engine.market import Market
from tests.support.clock import NOW

SPY, EURUSD, EURGBP, GBPUSD = 756733, 12087792, 12087807, 12087797
CATALOG = Catalog(NOW.date())
MNQ = CATALOG.front_month("MNQ").con_id


def ticks_over(market: Market, clock: Clock, con_id: int, seconds: float) -> list:
    quotes = []
    for _ in range(int(seconds * 4)):
        quotes.append(market.quote(con_id))
        clock.step(0.25)
    return quotes


@pytest.mark.parametrize("con_id", [SPY, MNQ, EURUSD])
def test_ticks_lie_inside_their_one_minute_bars(con_id):
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    quotes = ticks_over(market, clock, con_id, 90)
    what = "MIDPOINT" if con_id == EURUSD else "TRADES"
    bars = {bar.time: bar for bar in market.bars(con_id, end=None, duration="600 S", bar_size="1 min",
                                                  use_rth=True, what_to_show=what)}
    for quote in quotes:
        bar = bars[quote.time.replace(second=0, microsecond=0)]
        assert bar.low <= quote.last <= bar.high, (quote, bar)
    assert len({quote.last for quote in quotes}) > 3
    assert quotes[0].last == Market(11, CATALOG, Clock(NOW)).price(con_id)


def test_quotes_change_every_quarter_second_in_regular_hours():
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    quotes = ticks_over(market, clock, SPY, 2)
    changes = sum(a != b for a, b in zip(quotes, quotes[1:]))
    assert changes == len(quotes) - 1
    assert len({(q.bid_size, q.ask_size, q.bid) for q in quotes}) >= 7
    assert [q.time for q in quotes[:3]] == [NOW, NOW + timedelta(seconds=0.25), NOW + timedelta(seconds=0.5)]


def test_the_bar_in_progress_closes_at_the_current_tick():
    clock = Clock(NOW + timedelta(seconds=37.5))
    market = Market(11, CATALOG, clock)
    price = market.price(SPY)
    for size in ("1 secs", "5 secs", "1 min", "5 mins", "30 mins", "1 day"):
        duration = "1 D" if size in ("30 mins", "1 day") else "300 S"
        bars = market.bars(SPY, end=None, duration=duration, bar_size=size, use_rth=True)
        assert bars[-1].close == price, size
        assert bars[-1].low <= price <= bars[-1].high
    minute = market.bars(SPY, end=None, duration="120 S", bar_size="1 min", use_rth=True)[-1]
    assert minute.time == NOW and minute.volume > 0


def test_seconds_bars_chain_and_bracket_their_ticks():
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    quotes = ticks_over(market, clock, SPY, 30)
    bars = market.bars(SPY, end=None, duration="30 S", bar_size="5 secs", use_rth=True)
    assert [bar.time for bar in bars] == [NOW + timedelta(seconds=5 * i) for i in range(6)]
    for previous, bar in zip(bars, bars[1:]):
        assert bar.open == previous.close
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    for quote in quotes:
        bar = bars[int((quote.time - NOW).total_seconds() // 5)]
        assert bar.low <= quote.last <= bar.high
    one_second = market.bars(SPY, end=None, duration="30 S", bar_size="1 sec", use_rth=True)
    assert len(one_second) == 30 and sum(b.volume for b in one_second) == pytest.approx(
        sum(b.volume for b in bars), rel=0.01)


@pytest.mark.parametrize("size, duration", [("1 secs", "1801 S"), ("5 secs", "1 D"), ("30 secs", "2 D")])
def test_seconds_bars_follow_ibs_step_size_limits(size, duration):
    market = Market(11, CATALOG, Clock(NOW + timedelta(hours=5)))
    with pytest.raises(ValueError, match="Time length exceed max"):
        market.bars(SPY, end=None, duration=duration, bar_size=size, use_rth=False)
    assert market.bars(SPY, end=None, duration="1800 S", bar_size=size, use_rth=False)


def test_overrides_land_on_the_current_tick():
    clock = Clock(NOW + timedelta(seconds=20.5))
    market = Market(11, CATALOG, clock)
    market.set_price(SPY, 612.5)
    assert market.price(SPY) == market.quote(SPY).last == 612.5
    assert market.bars(SPY, end=None, duration="60 S", bar_size="1 min", use_rth=True)[-1].close == 612.5
    market.pin_history(SPY, [600.0, 601.0, 602.5])
    assert market.price(SPY) == 602.5
    assert [bar.close for bar in market.bars(SPY, end=None, duration="3 D", bar_size="1 day", use_rth=True)] == [
        600.0, 601.0, 602.5]


def test_crosses_stay_consistent_between_minutes():
    clock = Clock(NOW + timedelta(seconds=13.25))
    market = Market(11, CATALOG, clock)
    assert market.price(EURGBP) == pytest.approx(market.price(EURUSD) / market.price(GBPUSD), rel=2e-4)
    assert market.fx_rate("EUR", "USD") == pytest.approx(market.price(EURUSD), rel=1e-4)


def test_price_at_any_moment_is_the_price_the_clock_had_then():
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    seen = []
    for _ in range(12):
        seen.append((clock.now(), market.price(SPY)))
        clock.step(0.25)
    clock.step(3600)
    assert [market.price_at(SPY, moment) for moment, _ in seen] == [price for _, price in seen]
    assert market.price_at(SPY, NOW + timedelta(seconds=0.4)) == seen[1][1]
    saturday = NOW + timedelta(days=4)
    assert Market(11, CATALOG, Clock(saturday + timedelta(hours=1))).price_at(SPY, saturday) == \
        Market(11, CATALOG, Clock(saturday)).price(SPY)
    with pytest.raises(ValueError, match="after"):
        market.price_at(SPY, clock.now() + timedelta(seconds=1))
