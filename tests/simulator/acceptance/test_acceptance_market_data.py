"""Acceptance: historical bars and tickers through ib_insync are sane, sized as requested and consistent."""

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from tests.support.iblib import Forex, Future, Index, Stock

NEW_YORK = ZoneInfo("America/New_York")
# RTH 09:30-16:00 and extended 04:00-20:00 New York, in 30-minute bars
RTH_BARS_PER_SESSION = 13
EXTENDED_BARS_PER_SESSION = 32


def front_month(ib, symbol: str):
    series = ib.reqContractDetails(Future(symbol, exchange="CME"))
    return min((d.contract for d in series), key=lambda c: c.lastTradeDateOrContractMonth)


def assert_sane(bars) -> None:
    assert bars, "no bars"
    for bar in bars:
        assert bar.high >= max(bar.open, bar.close) and min(bar.open, bar.close) >= bar.low > 0, bar
        assert bar.close > 0 and bar.volume >= 0
    dates = [bar.date for bar in bars]
    assert dates == sorted(set(dates)), "bar times must strictly increase"


@pytest.mark.parametrize("use_rth", [True, False])
def test_100_days_of_daily_bars(ib, sim_now, use_rth):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    bars = ib.reqHistoricalData(spy, "", "100 D", "1 day", "TRADES", useRTH=use_rth)
    assert len(bars) == 100
    assert_sane(bars)
    assert all(isinstance(bar.date, date) and bar.date.weekday() < 5 for bar in bars)
    # the session in progress is the last bar
    assert bars[-1].date == sim_now.astimezone(NEW_YORK).date()
    assert bars[0].date >= (sim_now - timedelta(days=160)).date()


@pytest.mark.parametrize("use_rth, per_session, first_start", [
    (True, RTH_BARS_PER_SESSION, "09:30"), (False, EXTENDED_BARS_PER_SESSION, "04:00")])
def test_5_days_of_30_minute_bars(ib, sim_now, use_rth, per_session, first_start):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    bars = ib.reqHistoricalData(spy, "", "5 D", "30 mins", "TRADES", useRTH=use_rth, formatDate=2)
    assert_sane(bars)
    local = [bar.date.astimezone(NEW_YORK) for bar in bars]
    per_day = Counter(t.date() for t in local)
    assert len(per_day) == 5
    *past_sessions, today = sorted(per_day)
    assert today == sim_now.astimezone(NEW_YORK).date()
    assert all(per_day[day] == per_session for day in past_sessions)
    assert 0 < per_day[today] < per_session
    assert min(t.strftime("%H:%M") for t in local) == first_start
    assert all(bar.date <= sim_now for bar in bars)
    if use_rth:
        assert all("09:30" <= t.strftime("%H:%M") <= "15:30" for t in local)


def test_explicit_end_date_time_gives_the_same_bars(ib):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    recent = ib.reqHistoricalData(spy, "", "30 D", "1 day", "TRADES", useRTH=True)
    friday_close = datetime(2026, 11, 13, 21, 0, tzinfo=timezone.utc)
    older = ib.reqHistoricalData(spy, friday_close, "10 D", "1 day", "TRADES", useRTH=True)
    assert len(older) == 10 and older[-1].date == date(2026, 11, 13)
    assert_sane(older)
    by_date = {bar.date: bar for bar in recent}
    assert all(by_date[bar.date] == bar for bar in older)
    intraday = ib.reqHistoricalData(spy, friday_close, "2 D", "30 mins", "TRADES", useRTH=True, formatDate=2)
    assert len(intraday) == 2 * RTH_BARS_PER_SESSION
    assert intraday[-1].date.astimezone(NEW_YORK).strftime("%Y%m%d %H:%M") == "20261113 15:30"


def test_history_of_every_contract_kind(ib):
    contracts = {"STK": Stock("VIXY", "SMART", "USD"), "CASH": Forex("EURUSD"), "FUT": front_month(ib, "MNQ"),
                 "IND": Index("VIX", "CBOE", "USD")}
    ib.qualifyContracts(*contracts.values())
    for kind, contract in contracts.items():
        what = "MIDPOINT" if kind == "CASH" else "TRADES"
        daily = ib.reqHistoricalData(contract, "", "30 D", "1 day", what, useRTH=True)
        assert len(daily) == 30, kind
        assert_sane(daily)
        intraday = ib.reqHistoricalData(contract, "", "1 D", "30 mins", what, useRTH=False)
        assert_sane(intraday)
    eurusd = ib.reqHistoricalData(contracts["CASH"], "", "30 D", "1 day", "MIDPOINT", useRTH=True)
    assert all(0.5 < bar.close < 2 for bar in eurusd)


def test_tickers_are_consistent_with_the_bars(ib):
    spy, eurusd, vix = Stock("SPY", "SMART", "USD"), Forex("EURUSD"), Index("VIX", "CBOE", "USD")
    mnq = front_month(ib, "MNQ")
    ib.qualifyContracts(spy, eurusd, vix, mnq)
    spy_t, eurusd_t, vix_t, mnq_t = ib.reqTickers(spy, eurusd, vix, mnq)
    for ticker in (spy_t, eurusd_t, mnq_t):
        assert 0 < ticker.bid < ticker.ask and ticker.close > 0 and ticker.bidSize > 0 and ticker.askSize > 0
    # IDEALPRO quotes have no trades, so forex tickers carry no last price, as with IB
    for ticker in (spy_t, mnq_t):
        assert ticker.bid <= ticker.last <= ticker.ask, ticker
    assert eurusd_t.bid < eurusd_t.marketPrice() < eurusd_t.ask
    assert spy_t.ask - spy_t.bid <= 0.05
    assert eurusd_t.ask - eurusd_t.bid < 0.0005
    assert vix_t.last > 0 and vix_t.close > 0
    bars = ib.reqHistoricalData(spy, "", "5 D", "1 day", "TRADES", useRTH=True)
    assert spy_t.last == pytest.approx(bars[-1].close, abs=0.011)
    assert spy_t.close == pytest.approx(bars[-2].close, abs=0.011)


def test_forex_cross_rates_are_consistent(ib):
    pairs = [Forex("EURUSD"), Forex("GBPUSD"), Forex("EURGBP")]
    ib.qualifyContracts(*pairs)
    eurusd, gbpusd, eurgbp = (t.marketPrice() for t in ib.reqTickers(*pairs))
    assert eurgbp == pytest.approx(eurusd / gbpusd, rel=5e-4)
