"""Contracts and market data through the client library (tests.support.iblib) on a real socket: qualification, tickers, history."""

import logging
from datetime import datetime, timezone

import pytest
from tests.support.iblib import IB, ContFuture, Forex, Future, Index, Stock, RequestError
from tests.support import iblib

from simulator.app import SimulatorConfig
from simulator.thread import SimulatorThread
from tests.support.clock import NOW
from tests.support.simulator_process import wait_until


@pytest.fixture(scope="module")
def gateway():
    with SimulatorThread(SimulatorConfig(port=0, now=NOW, seed=7)) as sim:
        yield sim


@pytest.fixture(scope="module")
def ib(gateway):
    client = IB()
    client.RaiseRequestErrors = True
    client.connect(gateway.host, gateway.port, clientId=11, timeout=5)
    yield client
    client.disconnect()


def test_qualify_stocks(ib):
    spy, vixy, qqq = Stock("SPY", "SMART", "USD"), Stock("VIXY", "SMART", "USD"), Stock("QQQ", "SMART", "USD")
    assert ib.qualifyContracts(spy, vixy, qqq) == [spy, vixy, qqq]
    assert (spy.conId, spy.primaryExchange, spy.exchange, spy.localSymbol) == (756733, "ARCA", "SMART", "SPY")
    assert vixy.primaryExchange == "BATS" and qqq.conId == 320227571
    [details] = ib.reqContractDetails(Stock(conId=756733))
    assert details.contract.symbol == "SPY" and details.stockType == "ETF"
    assert details.minTick == 0.01 and details.timeZoneId and details.longName


def test_qualify_future_series_and_front_month(ib):
    series = ib.reqContractDetails(Future("MNQ", exchange="CME"))
    assert len(series) >= 4
    expiries = sorted(d.contract.lastTradeDateOrContractMonth for d in series)
    assert expiries[0] >= NOW.strftime("%Y%m%d")
    front = Future("MNQ", expiries[0][:6], "CME")
    [qualified] = ib.qualifyContracts(front)
    assert qualified.multiplier == "2" and qualified.localSymbol.startswith("MNQ")
    assert qualified.lastTradeDateOrContractMonth == expiries[0]
    es = Future("ES", expiries[0][:6], "CME")
    ib.qualifyContracts(es)
    assert es.multiplier == "50" and es.conId != qualified.conId
    continuous = ContFuture("MNQ", "CME")
    ib.qualifyContracts(continuous)
    assert continuous.conId == qualified.conId


def test_qualify_forex_and_index(ib):
    eurusd, usdjpy, vix = Forex("EURUSD"), Forex("USDJPY"), Index("VIX", "CBOE", "USD")
    ib.qualifyContracts(eurusd, usdjpy, vix)
    assert (eurusd.symbol, eurusd.currency, eurusd.localSymbol, eurusd.exchange) == ("EUR", "USD", "EUR.USD",
                                                                                     "IDEALPRO")
    assert usdjpy.localSymbol == "USD.JPY" and usdjpy.conId
    assert vix.conId == 13455763
    fxconv = Forex("EURUSD", exchange="FXCONV")
    ib.qualifyContracts(fxconv)
    assert fxconv.conId == eurusd.conId and fxconv.exchange == "FXCONV"


def test_unknown_contract_is_error_200(ib, caplog):
    with caplog.at_level(logging.ERROR, logger=iblib.NAME):
        with pytest.raises(RequestError) as error:
            ib.reqContractDetails(Stock("NOSUCHSYM", "SMART", "USD"))
    assert error.value.code == 200
    assert "No security definition has been found" in error.value.message


def test_tickers_snapshot_for_every_kind(ib):
    contracts = [Stock("SPY", "SMART", "USD"), Forex("EURUSD"), Future("MNQ", exchange="CME"), Index("VIX", "CBOE")]
    contracts[2] = ib.reqContractDetails(contracts[2])[0].contract
    ib.qualifyContracts(*contracts)
    spy, eurusd, mnq, vix = ib.reqTickers(*contracts)
    assert 0 < spy.bid < spy.ask and spy.bid <= spy.last <= spy.ask and spy.close > 0
    assert spy.marketPrice() == spy.last and spy.volume > 0
    assert 0 < eurusd.bid < eurusd.ask and eurusd.ask - eurusd.bid < 0.001
    assert eurusd.marketPrice() == pytest.approx((eurusd.bid + eurusd.ask) / 2)
    assert mnq.bid < mnq.ask and mnq.last > 1000
    assert vix.last > 0 and vix.close > 0


def test_quotes_are_consistent_with_history(ib):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    [ticker] = ib.reqTickers(spy)
    bars = ib.reqHistoricalData(spy, "", "5 D", "1 day", "TRADES", useRTH=True)
    assert bars[-1].close == pytest.approx(ticker.last, rel=0.02)



def test_streaming_ticks_follow_price_changes(ib, gateway):
    qqq = Stock("QQQ", "SMART", "USD")
    ib.qualifyContracts(qqq)
    ticker = ib.reqMktData(qqq)
    try:
        wait_until(pump=ib.waitOnUpdate, condition=lambda: ticker.bid > 0)
        gateway.call("set_price", "QQQ", 432.1)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: ticker.last == 432.1)
        assert ticker.bid < 432.1 < ticker.ask
        gateway.call("move_price", "QQQ", -10)
        wait_until(pump=ib.waitOnUpdate, condition=lambda: ticker.last < 400)
        assert ticker.last == pytest.approx(388.89, abs=0.01)
    finally:
        ib.cancelMktData(qqq)


@pytest.mark.parametrize("duration, bar_size, use_rth, expected", [
    ("30 D", "1 day", True, 30),
    ("200 D", "1 day", True, 200),
    ("2 D", "30 mins", True, None),
    ("1 D", "30 mins", False, None),
])
def test_history_sanity(ib, duration, bar_size, use_rth, expected):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    bars = ib.reqHistoricalData(spy, "", duration, bar_size, "TRADES", useRTH=use_rth)
    if expected is not None:
        assert len(bars) == expected
    assert bars and all(b.high >= max(b.open, b.close) >= min(b.open, b.close) >= b.low > 0 for b in bars)
    dates = [b.date for b in bars]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    if bar_size != "1 day":
        assert all(d.tzinfo is not None for d in dates)
        assert len(bars) <= int(duration.split()[0]) * (13 if use_rth else 32)


def test_history_with_end_date_and_forex_midpoint(ib):
    eurusd = Forex("EURUSD")
    ib.qualifyContracts(eurusd)
    end = datetime(2026, 11, 20, 21, tzinfo=timezone.utc)
    bars = ib.reqHistoricalData(eurusd, end, "10 D", "1 day", "MIDPOINT", useRTH=False)
    assert len(bars) == 10 and bars[-1].date <= end.date()
    assert all(0.5 < b.close < 2 for b in bars)


def test_unsupported_history_is_error_162(ib):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    with pytest.raises(RequestError) as error:
        ib.reqHistoricalData(spy, "", "30 D", "17 secs", "TRADES", useRTH=True)
    assert error.value.code == 162
    assert error.value.message.startswith("Historical Market Data Service error message:")


def test_market_data_type_and_matching_symbols(ib):
    ib.reqMarketDataType(3)
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    [ticker] = ib.reqTickers(spy)
    assert ticker.marketDataType == 1 and ticker.last > 0
    found = ib.reqMatchingSymbols("SP")
    assert "SPY" in [d.contract.symbol for d in found]


def test_historical_schedule_lists_the_trading_sessions(ib):
    spy = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(spy)
    schedule = ib.reqHistoricalSchedule(spy, 3)
    assert schedule.timeZone == "US/Eastern"
    # NOW is Tuesday 2026-11-24 10:30 New York: the last three regular sessions up to today's
    assert [s.refDate for s in schedule.sessions] == ["20261120", "20261123", "20261124"]
    assert [(s.startDateTime, s.endDateTime) for s in schedule.sessions][-1] == (
        "20261124-09:30:00", "20261124-16:00:00")
    assert (schedule.startDateTime, schedule.endDateTime) == ("20261120-09:30:00", "20261124-16:00:00")
    extended = ib.reqHistoricalSchedule(spy, 1, useRTH=False)
    assert extended.sessions[0].startDateTime == "20261124-04:00:00"


def test_display_groups_are_answered_as_a_gateway_without_windows(ib):
    answers = []
    ib.wrapper.displayGroupList = lambda req_id, groups: answers.append(("list", req_id, groups))
    ib.wrapper.displayGroupUpdated = lambda req_id, info: answers.append(("updated", req_id, info))
    try:
        ib.client.queryDisplayGroups(9001)
        ib.client.subscribeToGroupEvents(9002, 1)
        wait_until(lambda: len(answers) == 2, timeout_s=5, what="display group answers", pump=ib.waitOnUpdate)
    finally:
        del ib.wrapper.displayGroupList, ib.wrapper.displayGroupUpdated
    assert answers == [("list", 9001, ""), ("updated", 9002, "none")]
