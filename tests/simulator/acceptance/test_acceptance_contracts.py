"""Acceptance: every contract kind qualifies through ib_insync like against IB; unknown ones get error 200."""

from datetime import datetime

import pytest
from tests.support.iblib import Contract, Forex, Future, Index, Stock

MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}


@pytest.mark.parametrize("symbol, primary_exchange", [
    ("SPY", "ARCA"), ("VIXY", "BATS"), ("QQQ", "NASDAQ"), ("IWM", "ARCA"), ("TLT", "NASDAQ"), ("GLD", "ARCA"),
    ("AAPL", "NASDAQ"), ("MSFT", "NASDAQ")])
def test_stocks_and_etfs_qualify_on_smart(ib, symbol, primary_exchange):
    stock = Stock(symbol, "SMART", "USD")
    assert ib.qualifyContracts(stock) == [stock]
    assert stock.conId > 0 and stock.secType == "STK"
    assert (stock.exchange, stock.primaryExchange, stock.localSymbol, stock.currency) == (
        "SMART", primary_exchange, symbol, "USD")


def test_spy_has_ibs_con_id_and_vixy_trades_on_bats(ib):
    [spy] = ib.reqContractDetails(Stock("SPY", "SMART", "USD"))
    assert spy.contract.conId == 756733 and spy.contract.primaryExchange == "ARCA"
    assert spy.stockType == "ETF" and spy.minTick == 0.01 and spy.longName
    assert "ARCA" in spy.validExchanges.split(",") and "LMT" in spy.orderTypes.split(",")
    [vixy] = ib.reqContractDetails(Stock("VIXY", "BATS", "USD"))
    assert vixy.contract.primaryExchange == "BATS" and vixy.contract.symbol == "VIXY"
    [by_con_id] = ib.reqContractDetails(Contract(conId=756733))
    assert by_con_id.contract.symbol == "SPY"


@pytest.mark.parametrize("symbol, multiplier", [("MNQ", "2"), ("ES", "50")])
def test_future_series_are_quarterly_third_fridays(ib, sim_now, symbol, multiplier):
    series = ib.reqContractDetails(Future(symbol, exchange="CME"))
    assert len(series) >= 4
    contracts = sorted((d.contract for d in series), key=lambda c: c.lastTradeDateOrContractMonth)
    today = sim_now.strftime("%Y%m%d")
    for contract in contracts:
        expiry = datetime.strptime(contract.lastTradeDateOrContractMonth, "%Y%m%d").date()
        assert contract.lastTradeDateOrContractMonth >= today
        assert expiry.month in MONTH_CODES and expiry.weekday() == 4 and 15 <= expiry.day <= 21
        assert contract.localSymbol == f"{symbol}{MONTH_CODES[expiry.month]}{expiry.year % 10}"
        assert (contract.multiplier, contract.exchange, contract.currency) == (multiplier, "CME", "USD")
    assert len({c.conId for c in contracts}) == len(contracts)
    # as of 2026-11-24 the front month is December 2026
    assert contracts[0].localSymbol == f"{symbol}Z6"
    front = Future(symbol, contracts[0].lastTradeDateOrContractMonth[:6], "CME")
    [qualified] = ib.qualifyContracts(front)
    assert qualified.conId == contracts[0].conId and qualified.multiplier == multiplier
    by_local = Future(localSymbol=f"{symbol}Z6", exchange="CME")
    assert ib.qualifyContracts(by_local) and by_local.conId == contracts[0].conId


@pytest.mark.parametrize("pair", ["EURUSD", "GBPUSD", "USDCHF", "USDJPY", "AUDUSD", "USDCAD", "EURGBP"])
def test_forex_pairs_qualify_on_idealpro(ib, pair):
    contract = Forex(pair)
    assert ib.qualifyContracts(contract) == [contract]
    assert (contract.secType, contract.exchange) == ("CASH", "IDEALPRO")
    assert (contract.symbol, contract.currency) == (pair[:3], pair[3:])
    assert contract.localSymbol == f"{pair[:3]}.{pair[3:]}" and contract.conId > 0


def test_vix_index_qualifies_on_cboe(ib):
    vix = Index("VIX", "CBOE", "USD")
    assert ib.qualifyContracts(vix) == [vix]
    assert vix.conId == 13455763 and vix.secType == "IND"


def test_unknown_contract_is_error_200(ib):
    errors = []
    ib.errorEvent += lambda req_id, code, message, contract: errors.append((code, message))
    # ib_insync leaves an unknown contract out of its answer, ib_async answers None in its place
    assert [c for c in ib.qualifyContracts(Stock("NOSUCHSYM", "SMART", "USD")) if c is not None] == []
    assert ib.reqContractDetails(Contract(conId=999999999)) == []
    assert [code for code, _ in errors] == [200, 200]
    assert all("No security definition has been found for the request" in message for _, message in errors)
