"""Unit tests of the simulated market: price paths, quotes, bars, exchange rates, overrides, pins and state."""

import json
import math
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from simulator.engine.catalog import Catalog
from simulator.engine.clock import Clock
from simulator.engine.market import Market
from tests.support.clock import NOW

NEW_YORK = ZoneInfo("America/New_York")
SPY, QQQ, VIXY, VIX, NQ = 756733, 320227571, 283724339, 13455763, 11004958
EURUSD, GBPUSD, EURGBP, USDJPY, EURJPY = 12087792, 12087797, 12087807, 15016059, 14321016
CATALOG = Catalog(NOW.date())
MNQ = CATALOG.front_month("MNQ").con_id
KINDS = {"STK": SPY, "CASH": EURUSD, "FUT": MNQ, "IND": VIX}


def market_at(now: datetime = NOW, seed: int = 11) -> Market:
    return Market(seed, CATALOG, Clock(now))


def daily(market: Market, con_id: int, duration: str = "30 D", *, use_rth: bool = True, end=None, what="TRADES"):
    return market.bars(con_id, end=end, duration=duration, bar_size="1 day", use_rth=use_rth, what_to_show=what)


def what_for(con_id: int) -> str:
    return "MIDPOINT" if CATALOG.by_con_id(con_id).sec_type == "CASH" else "TRADES"


def assert_sane(bars) -> None:
    assert bars
    for bar in bars:
        assert bar.high >= max(bar.open, bar.close) and min(bar.open, bar.close) >= bar.low > 0, bar
        assert bar.volume >= 0 and bar.count >= 0
    times = [bar.time for bar in bars]
    assert times == sorted(set(times))


# --- determinism and levels ------------------------------------------------------------------------------

def test_prices_depend_only_on_seed_symbol_and_time():
    first, second = market_at(), market_at()
    # different request order and windows on the second market
    second.bars(QQQ, end=None, duration="5 D", bar_size="5 mins", use_rth=False)
    late = second.bars(SPY, end=None, duration="3 D", bar_size="30 mins", use_rth=True)
    early = first.bars(SPY, end=None, duration="200 D", bar_size="1 day", use_rth=True)
    assert daily(second, SPY, "200 D") == early
    assert first.bars(SPY, end=None, duration="3 D", bar_size="30 mins", use_rth=True) == late
    assert first.quote(SPY) == second.quote(SPY)
    assert market_at(seed=12).price(SPY) != first.price(SPY)


def test_a_later_window_agrees_with_an_earlier_one():
    market = market_at()
    friday_close = datetime(2026, 11, 13, 21, 0, tzinfo=timezone.utc)
    older = daily(market, SPY, "10 D", end=friday_close)
    assert len(older) == 10 and older[-1].time.date() == date(2026, 11, 13)
    recent = {bar.time: bar for bar in daily(market, SPY, "30 D")}
    assert all(recent[bar.time] == bar for bar in older)
    intraday = market.bars(SPY, end=friday_close, duration="2 D", bar_size="30 mins", use_rth=True)
    assert len(intraday) == 26
    assert intraday[-1].time.astimezone(NEW_YORK).strftime("%Y%m%d %H:%M") == "20261113 15:30"
    assert intraday[-1].close == older[-1].close


@pytest.mark.parametrize("con_id, low, high", [
    (SPY, 300, 1200), (QQQ, 250, 1100), (VIXY, 5, 200), (EURUSD, 0.8, 1.4), (USDJPY, 100, 200),
    (MNQ, 10000, 42000), (CATALOG.front_month("ES").con_id, 3000, 12000), (VIX, 4, 80)])
@pytest.mark.parametrize("seed", [1, 11, 2024])
def test_levels_are_plausible(con_id, low, high, seed):
    assert low < market_at(seed=seed).price(con_id) < high


def test_prices_are_on_the_tick():
    market = market_at()
    for con_id in (SPY, EURUSD, USDJPY, MNQ):
        tick = CATALOG.by_con_id(con_id).min_tick
        for value in (market.price(con_id), *(b.close for b in daily(market, con_id, what=what_for(con_id)))):
            assert abs(value / tick - round(value / tick)) < 1e-6


def test_futures_follow_their_index_with_a_small_carry():
    market = market_at()
    series = sorted((spec for spec in CATALOG.all() if spec.symbol == "MNQ"), key=lambda s: s.last_trade_date)
    prices = [market.price(spec.con_id) for spec in series]
    index = market.price(NQ)
    assert prices == sorted(prices)
    assert prices[0] == pytest.approx(index, rel=0.01) and prices[-1] == pytest.approx(index, rel=0.04)


# --- forex ---------------------------------------------------------------------------------------------

def test_cross_rates_are_consistent():
    market = market_at()
    assert market.price(EURGBP) == pytest.approx(market.price(EURUSD) / market.price(GBPUSD), rel=1e-4)
    assert market.price(EURJPY) == pytest.approx(market.price(EURUSD) * market.price(USDJPY), rel=1e-4)
    assert market.fx_rate("EUR", "GBP") == pytest.approx(market.fx_rate("EUR", "USD") / market.fx_rate("GBP", "USD"))
    assert market.fx_rate("JPY", "USD") == pytest.approx(1 / market.price(USDJPY), rel=1e-4)
    assert market.fx_rate("EUR", "USD") == pytest.approx(market.price(EURUSD), rel=1e-4)
    assert market.fx_rate("USD", "USD") == 1.0 and market.fx_rate("usd", "USD") == 1.0
    with pytest.raises(KeyError, match="XYZ"):
        market.fx_rate("XYZ", "USD")


# --- bars --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_rth", [True, False])
def test_n_days_of_daily_bars_are_n_sessions_ending_today(use_rth):
    bars = daily(market_at(), SPY, "100 D", use_rth=use_rth)
    assert len(bars) == 100
    assert_sane(bars)
    assert bars[-1].time.date() == date(2026, 11, 24)
    assert all(bar.time.weekday() < 5 and bar.time.hour == 0 for bar in bars)
    assert date(2026, 9, 7) not in {bar.time.date() for bar in bars}       # Labor Day


def test_daily_bars_of_each_kind():
    market = market_at(datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc))
    days = {kind: [bar.time.date() for bar in daily(market, con_id, "5 D", what=what_for(con_id))]
            for kind, con_id in KINDS.items()}
    assert days["STK"] == days["IND"] == [date(2026, 11, d) for d in (23, 24, 25, 27, 30)]
    # futures and forex sessions open the evening before, and trade on Thanksgiving
    assert days["FUT"] == days["CASH"] == [date(2026, 11, d) for d in (24, 25, 26, 27, 30)]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("duration, bar_size", [
    ("200 D", "1 day"), ("5 D", "30 mins"), ("2 D", "1 hour"), ("1 D", "5 mins"), ("3600 S", "1 min"),
    ("1 Y", "1 week"), ("2 Y", "1 month"), ("2 W", "4 hours")])
def test_bars_are_sane_for_every_kind_and_size(kind, duration, bar_size):
    con_id = KINDS[kind]
    for use_rth in (True, False):
        bars = market_at().bars(con_id, end=None, duration=duration, bar_size=bar_size, use_rth=use_rth,
                                what_to_show=what_for(con_id))
        assert_sane(bars)
        assert all(bar.time <= NOW for bar in bars)


@pytest.mark.parametrize("use_rth, per_session, first", [(True, 13, "09:30"), (False, 32, "04:00")])
def test_five_days_of_half_hours(use_rth, per_session, first):
    bars = market_at().bars(SPY, end=None, duration="5 D", bar_size="30 mins", use_rth=use_rth)
    local = [bar.time.astimezone(NEW_YORK) for bar in bars]
    per_day: dict[date, int] = {}
    for moment in local:
        per_day[moment.date()] = per_day.get(moment.date(), 0) + 1
    *past, today = sorted(per_day)
    assert len(per_day) == 5 and today == date(2026, 11, 24)
    assert all(per_day[day] == per_session for day in past)
    # 09:30 and 10:00 have started before 10:30
    assert per_day[today] == (2 if use_rth else 13)
    assert min(moment.strftime("%H:%M") for moment in local) == first


def test_seconds_durations_and_minute_bars():
    bars = market_at().bars(SPY, end=None, duration="3600 S", bar_size="1 min", use_rth=True)
    assert len(bars) == 60 and bars[0].time == NOW - timedelta(hours=1)
    five = market_at().bars(SPY, end=None, duration="1 D", bar_size="5 mins", use_rth=True)
    assert len(five) == 12 and five[-1].close == bars[-1].close


def test_the_session_close_is_the_last_intraday_close():
    market = market_at()
    days = daily(market, SPY, "5 D")
    halves = market.bars(SPY, end=None, duration="5 D", bar_size="30 mins", use_rth=True)
    last_of_day = {}
    for bar in halves:
        last_of_day[bar.time.astimezone(NEW_YORK).date()] = bar.close
    assert [last_of_day[bar.time.date()] for bar in days] == [bar.close for bar in days]


def test_quote_based_bars_bracket_the_midpoint():
    market = market_at()
    mid, bid, ask = (daily(market, EURUSD, "5 D", what=what) for what in ("MIDPOINT", "BID", "ASK"))
    assert all(b.close < m.close < a.close for m, b, a in zip(mid, bid, ask))
    assert all(bar.volume == 0 for bar in mid)


@pytest.mark.parametrize("kwargs, text", [
    ({"duration": "30 X", "bar_size": "1 day"}, "Invalid duration"),
    ({"duration": "0 D", "bar_size": "1 day"}, "Invalid duration"),
    ({"duration": "30 D", "bar_size": "7 mins"}, "Bar size"),
    ({"duration": "30 D", "bar_size": "1 day", "what_to_show": "TRADES", "con_id": EURUSD}, "No historical market"),
    ({"duration": "30 D", "bar_size": "1 day", "what_to_show": "OPTION_IMPLIED_VOLATILITY"}, "whatToShow"),
    ({"duration": "20 Y", "bar_size": "1 min"}, "Time length exceed max"),
])
def test_unsupported_requests_raise_ib_like_errors(kwargs, text):
    con_id = kwargs.pop("con_id", SPY)
    with pytest.raises(ValueError, match=text) as raised:
        market_at().bars(con_id, end=None, use_rth=True, **kwargs)
    assert str(raised.value).startswith("Historical Market Data Service error message:")


def test_bar_generation_is_fast():
    for con_id in (SPY, EURUSD):
        market = market_at(seed=99)
        started = time.perf_counter()
        market.bars(con_id, end=None, duration="200 D", bar_size="1 day", use_rth=True, what_to_show="MIDPOINT")
        market.bars(con_id, end=None, duration="5 D", bar_size="30 mins", use_rth=False, what_to_show="MIDPOINT")
        # milliseconds when idle; the bound only catches generation gone pathological (a loaded machine pauses)
        assert time.perf_counter() - started < 1


# --- quotes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["STK", "CASH", "FUT"])
def test_quote_is_consistent_with_the_bars(kind):
    con_id = KINDS[kind]
    market = market_at()
    quote = market.quote(con_id)
    bars = daily(market, con_id, "5 D", what=what_for(con_id))
    tick = CATALOG.by_con_id(con_id).min_tick
    assert quote.last == market.price(con_id) == bars[-1].close
    assert quote.close == bars[-2].close
    assert quote.bid < quote.last < quote.ask and quote.ask - quote.bid == pytest.approx(2 * tick)
    assert quote.low <= quote.last <= quote.high and quote.open > 0
    assert quote.bid_size > 0 and quote.ask_size > 0
    assert quote.time == NOW


def test_between_sessions_the_price_rests_at_the_last_close():
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=timezone.utc)
    market = market_at(saturday)
    extended, regular = daily(market, SPY, "2 D", use_rth=False), daily(market, SPY, "2 D")
    quote = market.quote(SPY)
    assert quote.last == extended[-1].close and quote.close == regular[-1].close
    # Friday 17:00 New York: the day after Thanksgiving closes early, its late session at 17:00
    assert quote.time == datetime(2026, 11, 27, 22, 0, tzinfo=timezone.utc)
    later = Market(11, CATALOG, Clock(saturday + timedelta(hours=20)))
    assert later.quote(SPY) == quote
    assert later.price(EURUSD) == market.price(EURUSD)


def test_the_price_moves_with_the_clock_and_version_tracks_it():
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    before, version = market.price(SPY), market.version
    assert market.version == version
    clock.step(30)
    assert market.version == version
    clock.step(7200)
    assert market.version > version and market.price(SPY) != before


# --- overrides ------------------------------------------------------------------------------------------

def test_set_price_is_the_price_and_the_last_close_from_now_on():
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    history = daily(market, SPY, "10 D")
    version = market.version
    market.set_price(SPY, 612.5)
    assert market.version > version
    assert market.price(SPY) == market.quote(SPY).last == 612.5
    for size in ("1 day", "30 mins", "1 min"):
        bars = market.bars(SPY, end=None, duration="1 D", bar_size=size, use_rth=True)
        assert bars[-1].close == 612.5
        assert_sane(bars)
    assert daily(market, SPY, "10 D")[:-1] == history[:-1]
    market.move_price(SPY, -5)
    assert market.price(SPY) == pytest.approx(612.5 * 0.95, abs=0.01)
    clock.step(3600)
    assert market.price(SPY) == pytest.approx(612.5 * 0.95, rel=0.05)


def test_set_price_rounds_to_the_tick_and_validates():
    market = market_at()
    market.set_price(SPY, 600.004)
    assert market.price(SPY) == 600.0
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            market.set_price(SPY, bad)
    with pytest.raises(ValueError):
        market.move_price(SPY, -100)
    with pytest.raises(KeyError):
        market.set_price(424242, 10.0)


def test_forex_overrides_keep_crosses_consistent():
    market = market_at()
    market.set_price(EURUSD, 1.25)
    assert market.price(EURUSD) == 1.25 and market.fx_rate("EUR", "USD") == pytest.approx(1.25)
    assert market.price(EURGBP) == pytest.approx(1.25 / market.price(GBPUSD), rel=1e-4)
    market.set_price(USDJPY, 160.0)
    assert market.price(USDJPY) == 160.0 and market.fx_rate("JPY", "USD") == pytest.approx(1 / 160)
    assert market.price(EURJPY) == pytest.approx(200.0, rel=1e-4)
    assert daily(market, EURUSD, "2 D", what="MIDPOINT")[-1].close == 1.25


def test_an_index_override_moves_its_futures():
    market = market_at()
    index, future = market.price(NQ), market.price(MNQ)
    market.move_price(NQ, 10)
    assert market.price(MNQ) == pytest.approx(future * 1.1, rel=1e-3)
    market.set_price(MNQ, 25000.0)
    assert market.price(MNQ) == 25000.0 and market.price(NQ) == pytest.approx(index * 1.1, abs=0.02)


# --- pinned history ---------------------------------------------------------------------------------------

CLOSES = [500.0 + i for i in range(25)] + [520.0, 510.0, 505.0, 530.0, 540.0]


@pytest.mark.parametrize("use_rth", [True, False])
def test_pin_history_sets_the_last_daily_closes_exactly(use_rth):
    market = market_at()
    market.pin_history(SPY, CLOSES)
    bars = daily(market, SPY, "60 D", use_rth=use_rth)
    assert [bar.close for bar in bars[-30:]] == CLOSES
    assert_sane(bars)
    # older history joins the pinned part without a jump
    assert bars[-31].close == pytest.approx(CLOSES[0], rel=0.05)
    assert market.price(SPY) == market.quote(SPY).last == 540.0
    assert market.quote(SPY).close == 530.0


def test_pinned_intraday_bars_end_each_session_at_its_daily_close():
    market = market_at()
    market.pin_history(SPY, CLOSES)
    halves = market.bars(SPY, end=None, duration="5 D", bar_size="30 mins", use_rth=True)
    assert_sane(halves)
    last_of_day = {}
    for bar in halves:
        last_of_day[bar.time.astimezone(NEW_YORK).date()] = bar.close
    assert list(last_of_day.values()) == CLOSES[-5:]


def test_pin_history_on_each_kind():
    for kind, con_id in KINDS.items():
        market = market_at()
        level = market.price(con_id)
        closes = [round(level * (1 + 0.01 * math.sin(i)), 2) for i in range(40)]
        tick = CATALOG.by_con_id(con_id).min_tick
        expected = [round(round(value / tick) * tick, 5) for value in closes]
        market.pin_history(con_id, closes)
        bars = daily(market, con_id, "50 D", what=what_for(con_id))
        assert [bar.close for bar in bars[-40:]] == pytest.approx(expected, abs=1e-9), kind
        assert market.price(con_id) == pytest.approx(expected[-1], abs=1e-9)
        assert_sane(bars)


def test_after_a_pin_the_market_moves_on_and_history_stays():
    clock = Clock(NOW)
    market = Market(11, CATALOG, clock)
    market.pin_history(SPY, CLOSES)
    clock.step(86400)
    bars = daily(market, SPY, "31 D")
    # the session in progress when pinned went on trading after the pin
    assert [bar.close for bar in bars[-31:-2]] == CLOSES[:-1]
    assert bars[-1].time.date() == date(2026, 11, 25)
    assert market.price(SPY) == pytest.approx(540.0, rel=0.1)


def test_pin_history_validates():
    market = market_at()
    with pytest.raises(ValueError):
        market.pin_history(SPY, [])
    with pytest.raises(ValueError):
        market.pin_history(SPY, [500.0, -1.0])
    with pytest.raises(KeyError):
        market.pin_history(424242, [1.0])


# --- state -------------------------------------------------------------------------------------------------

def test_overrides_and_pins_survive_a_state_round_trip():
    market = market_at()
    market.pin_history(SPY, CLOSES)
    market.set_price(EURUSD, 1.2)
    market.move_price(MNQ, 2)
    state = json.loads(json.dumps(market.to_state()))
    restored = market_at()
    assert restored.price(SPY) != 540.0
    version = restored.version
    restored.load_state(state)
    assert restored.version > version
    for con_id in (SPY, EURUSD, EURGBP, MNQ):
        assert restored.quote(con_id) == market.quote(con_id)
    assert daily(restored, SPY, "40 D") == daily(market, SPY, "40 D")
    restored.load_state({})
    assert restored.price(SPY) == market_at().price(SPY)
