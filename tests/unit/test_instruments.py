"""Instrument descriptions, futures series selection, prices and FX conversion."""
import json
import math
from datetime import date

import pytest
from ib_async import BarData, Contract, ContractDetails, Ticker
from ib_async import Future as IBFuture

from lib.broker.instruments import (ByConId, ContractNotFound, Forex, Future, HistoryRequest, Index,
                                    PriceUnavailable, Stock, bars_frame, fx_pair_for, fx_rate_to_base,
                                    select_future_detail, ticker_price)
from lib.broker.parsing import ContractInfo


def mnq(local_symbol, last_trade_date, con_id, contract_month=""):
    contract = IBFuture("MNQ", last_trade_date, "CME", localSymbol=local_symbol, multiplier="2", currency="USD",
                        conId=con_id)
    return ContractDetails(contract=contract, contractMonth=contract_month or last_trade_date[:6])


SERIES = [  # deliberately not in expiry order
    mnq("MNQH6", "20260320", 603),
    mnq("MNQZ5", "20251219", 512),
    mnq("MNQF6", "20260116", 601),   # a monthly contract: skipped by the quarterly scheme
    mnq("MNQM6", "20260618", 606),
]


@pytest.mark.parametrize("instrument, expected", [
    (Stock("SPY", primary_exchange="ARCA"),
     {"secType": "STK", "symbol": "SPY", "exchange": "SMART", "currency": "USD", "primaryExchange": "ARCA"}),
    (Stock("SAP", "IBIS", "EUR"), {"secType": "STK", "symbol": "SAP", "exchange": "IBIS", "currency": "EUR"}),
    (Future("MNQ", "CME"),
     {"secType": "FUT", "symbol": "MNQ", "exchange": "CME", "currency": "USD", "lastTradeDateOrContractMonth": ""}),
    (Forex("EURUSD"), {"secType": "CASH", "symbol": "EUR", "currency": "USD", "exchange": "IDEALPRO"}),
    (Forex("usd.jpy"), {"secType": "CASH", "symbol": "USD", "currency": "JPY", "exchange": "IDEALPRO"}),
    (Index("VIX", "CBOE"), {"secType": "IND", "symbol": "VIX", "exchange": "CBOE", "currency": "USD"}),
    (ByConId(756733), {"conId": 756733, "secType": ""}),
])
def test_contract_to_request(instrument, expected):
    contract = instrument.contract()
    assert {key: getattr(contract, key) for key in expected} == expected
    assert contract.conId == expected.get("conId", 0)


def test_forex_accepts_both_spellings_as_one_instrument():
    assert Forex("EUR.USD") == Forex("EURUSD") == Forex("eurusd")
    assert (Forex("EUR.USD").symbol, Forex("EUR.USD").currency) == ("EUR", "USD")


@pytest.mark.parametrize("build", [
    lambda: Forex("EURUS"), lambda: Forex("EUR/USD"), lambda: Forex("EU.RUSD"), lambda: Forex(123),
    lambda: Future("MNQ", "CME", expiry_scheme="weekly"), lambda: Future("MNQ", "CME", rollover_days=-1),
    lambda: ByConId(0), lambda: ByConId("756733"),
])
def test_invalid_instruments_are_refused(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize("today, scheme, rollover_days, expected", [
    (date(2025, 12, 16), "quarterly", 2, "MNQZ5"),   # 3 days left: still the front
    (date(2025, 12, 17), "quarterly", 2, "MNQH6"),   # 2 days left: rolled
    (date(2025, 12, 17), "quarterly", 1, "MNQZ5"),
    (date(2025, 12, 18), "quarterly", 1, "MNQH6"),
    (date(2025, 12, 18), "quarterly", 0, "MNQZ5"),
    (date(2025, 12, 19), "quarterly", 0, "MNQH6"),   # expiry day itself never qualifies
    (date(2025, 12, 1), "quarterly", 2, "MNQZ5"),
    (date(2025, 12, 17), "monthly", 2, "MNQF6"),     # January exists in the monthly scheme only
    (date(2026, 1, 14), "monthly", 2, "MNQH6"),
    (date(2026, 3, 18), "quarterly", 2, "MNQM6"),
    (date(2026, 3, 17), "quarterly", 2, "MNQH6"),
])
def test_select_future_front_contract_after_rollover(today, scheme, rollover_days, expected):
    assert select_future_detail(SERIES, scheme, rollover_days, today).contract.localSymbol == expected


def test_future_select_uses_its_own_scheme_and_rollover():
    assert Future("MNQ", "CME", rollover_days=2).select_detail(SERIES, date(2025, 12, 17)).contract.conId == 603
    assert Future("MNQ", "CME", expiry_scheme="monthly").select_detail(SERIES, date(2025, 12, 17)).contract.conId == 601


def test_select_future_reads_dates_with_a_time_and_months_from_the_date():
    details = [ContractDetails(contract=IBFuture("MNQ", "20251219 08:30:00 US/Central", "CME", conId=1,
                                                 localSymbol="MNQZ5"))]
    assert select_future_detail(details, "quarterly", 2, date(2025, 12, 16)).contract.conId == 1


def test_select_future_without_a_qualifying_contract_names_the_series():
    with pytest.raises(ContractNotFound, match=r"quarterly MNQ future on CME.*2 days after 2026-06-16.*MNQM6"):
        Future("MNQ", "CME").select_detail(SERIES, date(2026, 6, 16))
    with pytest.raises(ContractNotFound, match="none"):
        Future("MNQ", "CME").select_detail([], date(2026, 6, 16))


def test_select_future_refuses_two_contracts_with_the_same_expiry():
    twins = [mnq("MNQZ5", "20251219", 512), mnq("MNQZ5-B", "20251219", 513)]
    with pytest.raises(ContractNotFound, match="ambiguous"):
        select_future_detail(twins, "quarterly", 2, date(2025, 12, 1))


def test_unique_instruments_need_exactly_one_contract():
    spy = Contract(secType="STK", symbol="SPY", conId=756733, exchange="SMART", currency="USD")
    assert Stock("SPY").select_detail([ContractDetails(contract=spy)], date(2026, 1, 5)).contract is spy
    with pytest.raises(ContractNotFound, match="no contract for stock SPY"):
        Stock("SPY").select_detail([], date(2026, 1, 5))
    with pytest.raises(ContractNotFound, match="ambiguous"):
        Stock("SPY").select_detail([ContractDetails(contract=spy), ContractDetails(contract=spy)], date(2026, 1, 5))


@pytest.mark.parametrize("contract, multiplier, last_trade_date", [
    (Contract(secType="STK", conId=756733, symbol="SPY", localSymbol="SPY", currency="USD", exchange="SMART"),
     1.0, ""),
    (mnq("MNQZ5", "20251219", 512).contract, 2.0, "20251219"),
    (Contract(secType="FUT", conId=9, symbol="ES", currency="USD", exchange="CME", multiplier="50"), 50.0, ""),
])
def test_contract_info_from_contract(contract, multiplier, last_trade_date):
    info = ContractInfo.from_contract(contract)
    assert (info.con_id, info.sec_type, info.currency) == (contract.conId, contract.secType, contract.currency)
    assert (info.multiplier, info.last_trade_date) == (multiplier, last_trade_date)


def test_contract_info_needs_a_qualified_contract():
    with pytest.raises(ValueError, match="not qualified"):
        ContractInfo.from_contract(Stock("SPY").contract())


def test_history_request_defaults_are_one_hundred_daily_trade_bars():
    assert HistoryRequest("SPY") == HistoryRequest("SPY", "100 D", "1 day", "TRADES", True)


@pytest.mark.parametrize("currency, base, pair", [
    ("EUR", "USD", "EURUSD"), ("USD", "EUR", "EURUSD"), ("JPY", "USD", "USDJPY"), ("USD", "CHF", "USDCHF"),
    ("CHF", "EUR", "EURCHF"), ("GBP", "JPY", "GBPJPY"), ("CAD", "USD", "USDCAD"), ("aud", "usd", "AUDUSD"),
    ("XAU", "USD", "USDXAU"),
])
def test_fx_pair_follows_market_convention(currency, base, pair):
    assert fx_pair_for(currency, base) == Forex(pair)


def test_fx_pair_for_equal_currencies_is_refused():
    with pytest.raises(ValueError):
        fx_pair_for("USD", "usd")


@pytest.mark.parametrize("currency, base, pair, price, rate", [
    ("EUR", "USD", "EURUSD", 1.10, 1.10),          # pair CCY.BASE: the price
    ("USD", "EUR", "EURUSD", 1.25, 0.8),           # pair BASE.CCY: inverted
    ("JPY", "USD", "USDJPY", 160.0, 1 / 160.0),
    ("USD", "JPY", "USDJPY", 160.0, 160.0),
    ("USD", "USD", "EURUSD", math.nan, 1.0),       # no conversion, the pair is not consulted
])
def test_fx_rate_to_base(currency, base, pair, price, rate):
    assert fx_rate_to_base(currency, base, Forex(pair), price) == pytest.approx(rate)


@pytest.mark.parametrize("currency, base, pair, price", [
    ("GBP", "USD", "EURUSD", 1.1), ("EUR", "USD", "EURUSD", 0.0), ("EUR", "USD", "EURUSD", -1.1),
    ("EUR", "USD", "EURUSD", math.nan), ("EUR", "USD", "EURUSD", math.inf),
])
def test_fx_rate_to_base_refuses_wrong_pairs_and_prices(currency, base, pair, price):
    with pytest.raises(ValueError):
        fx_rate_to_base(currency, base, Forex(pair), price)


def quote(contract, **fields):
    ticker = Ticker(contract=contract)
    for name, value in fields.items():
        setattr(ticker, name, value)
    return ticker


@pytest.mark.parametrize("fields, price", [
    ({"bid": 99.0, "ask": 101.0, "bidSize": 1, "askSize": 1, "last": 100.5}, 100.5),  # last inside the spread
    ({"bid": 99.0, "ask": 101.0, "bidSize": 1, "askSize": 1, "last": 105.0}, 100.0),  # stale last: midpoint
    ({"last": 100.25}, 100.25),                                                       # no quotes: last
    ({"close": 98.0}, 98.0),                                                          # nothing live: close
    ({"bid": -1.0, "ask": -1.0, "last": 0.0, "close": 97.0}, 97.0),
])
def test_ticker_price(fields, price):
    assert ticker_price(quote(Stock("SPY").contract(), **fields)) == price


@pytest.mark.parametrize("fields", [{}, {"last": 0.0, "close": -1.0}, {"close": math.inf}])
def test_ticker_without_a_price(fields):
    with pytest.raises(PriceUnavailable, match="SPY"):
        ticker_price(quote(Stock("SPY").contract(), **fields))


def test_bars_frame_sorts_by_date_and_keeps_the_ohlcv_columns():
    bars = [BarData(date=date(2026, 1, 6), open=2, high=3, low=1, close=2.5, volume=10, average=2, barCount=4),
            BarData(date=date(2026, 1, 5), open=1, high=2, low=0.5, close=1.5, volume=20, average=1, barCount=3)]
    frame = bars_frame(bars)
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert frame["close"].tolist() == [1.5, 2.5]
    assert frame["date"].tolist() == [date(2026, 1, 5), date(2026, 1, 6)]
    empty = bars_frame([])
    assert empty.empty and list(empty.columns) == list(frame.columns)
    assert json.dumps(bars_frame([{"date": "20260105", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 0}])
                      ["close"].tolist()) == "[1.0]"
