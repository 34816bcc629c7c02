"""Unit tests of the contract catalog and the trading calendar it uses."""

from datetime import date

import pytest

from simulator.engine.catalog import Catalog, ContractQuery, future_con_id
from simulator.engine.futures_expiry import third_friday
from simulator.engine.trading_hours import us_holidays

TODAY = date(2026, 11, 24)
MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(TODAY)


@pytest.mark.parametrize("symbol, con_id, primary", [
    ("SPY", 756733, "ARCA"), ("VIXY", None, "BATS"), ("QQQ", 320227571, "NASDAQ"), ("IWM", 9579970, "ARCA"),
    ("TLT", 15547841, "NASDAQ"), ("GLD", 51529211, "ARCA"), ("AAPL", 265598, "NASDAQ"), ("MSFT", 272093, "NASDAQ"),
    ("IEF", None, "NASDAQ"), ("EFA", None, "ARCA"), ("VTI", None, "ARCA"), ("AMZN", None, "NASDAQ"),
    ("NVDA", None, "NASDAQ")])
def test_stocks_resolve_on_smart_with_their_listing_exchange(catalog, symbol, con_id, primary):
    [spec] = catalog.match(ContractQuery(symbol=symbol, sec_type="STK", exchange="SMART", currency="USD"))
    assert (spec.exchange, spec.primary_exchange, spec.local_symbol, spec.currency) == ("SMART", primary, symbol,
                                                                                         "USD")
    assert spec.multiplier == 1 and spec.min_tick == 0.01 and spec.stock_type in ("ETF", "COMMON")
    assert spec.time_zone_id == "US/Eastern" and "SMART" in spec.valid_exchanges.split(",")
    assert {"LMT", "MKT", "ALGO"} <= set(spec.order_types.split(","))
    if con_id is not None:
        assert spec.con_id == con_id


def test_spy_details_are_ibs(catalog):
    spy = catalog.by_con_id(756733)
    assert (spy.symbol, spy.sec_type, spy.primary_exchange, spy.stock_type) == ("SPY", "STK", "ARCA", "ETF")
    assert spy.long_name and spy.under_con_id == 0 and spy.last_trade_date == ""
    assert spy.trading_hours.startswith("20261124:0400-20261124:2000;")
    assert spy.liquid_hours.startswith("20261124:0930-20261124:1600;")
    # Thanksgiving
    assert "20261126:CLOSED" in spy.trading_hours.split(";")


def test_a_stock_asked_on_one_of_its_exchanges_carries_that_exchange(catalog):
    [vixy] = catalog.match(ContractQuery(symbol="VIXY", sec_type="STK", exchange="BATS", currency="USD"))
    assert vixy.exchange == "BATS" and vixy.primary_exchange == "BATS"
    [aapl] = catalog.match(ContractQuery(symbol="AAPL", sec_type="STK", exchange="ISLAND"))
    assert aapl.exchange == "NASDAQ"
    assert catalog.match(ContractQuery(symbol="SPY", sec_type="STK", exchange="CME")) == []


@pytest.mark.parametrize("symbol, multiplier, index", [("MNQ", 2.0, "NQ"), ("ES", 50.0, "ES")])
def test_futures_series_is_the_next_four_quarterlies(catalog, symbol, multiplier, index):
    series = catalog.match(ContractQuery(symbol=symbol, sec_type="FUT", exchange="CME"))
    assert len(series) == 4
    expiries = sorted(date.fromisoformat(f"{s.last_trade_date[:4]}-{s.last_trade_date[4:6]}-{s.last_trade_date[6:]}")
                      for s in series)
    assert expiries == [date(2026, 12, 18), date(2027, 3, 19), date(2027, 6, 18), date(2027, 9, 17)]
    for spec in series:
        expiry = date(int(spec.last_trade_date[:4]), int(spec.last_trade_date[4:6]), int(spec.last_trade_date[6:]))
        assert expiry.weekday() == 4 and 15 <= expiry.day <= 21
        assert spec.local_symbol == f"{symbol}{MONTH_CODES[expiry.month]}{expiry.year % 10}"
        assert (spec.exchange, spec.currency, spec.multiplier, spec.min_tick) == ("CME", "USD", multiplier, 0.25)
        assert spec.time_zone_id == "US/Central" and spec.con_id == future_con_id(symbol, expiry)
        underlying = catalog.by_con_id(spec.under_con_id)
        assert underlying.sec_type == "IND" and underlying.symbol == index
    assert len({spec.con_id for spec in series}) == 4


def test_futures_lookup_by_month_local_symbol_and_globex(catalog):
    [by_month] = catalog.match(ContractQuery(symbol="MNQ", sec_type="FUT", last_trade_date="202612", exchange="CME"))
    [by_day] = catalog.match(ContractQuery(symbol="MNQ", sec_type="FUT", last_trade_date="20261218"))
    [by_local] = catalog.match(ContractQuery(local_symbol="MNQZ6", sec_type="FUT", exchange="GLOBEX"))
    assert by_month.con_id == by_day.con_id == by_local.con_id and by_month.local_symbol == "MNQZ6"
    assert by_local.exchange == "CME"
    assert catalog.match(ContractQuery(symbol="MNQ", sec_type="FUT", multiplier="2")) != []
    assert catalog.match(ContractQuery(symbol="MNQ", sec_type="FUT", multiplier="5")) == []


def test_expired_futures_only_when_asked(catalog):
    assert catalog.match(ContractQuery(symbol="MNQ", sec_type="FUT", last_trade_date="202609")) == []
    [expired] = catalog.match(ContractQuery(symbol="MNQ", sec_type="FUT", last_trade_date="202609",
                                            include_expired=True))
    assert expired.local_symbol == "MNQU6" and catalog.is_expired(expired.con_id)
    assert catalog.by_con_id(expired.con_id) == expired
    assert expired not in catalog.all()


def test_futures_roll_and_conids_are_stable_across_days():
    on_expiry, after = Catalog(date(2026, 12, 18)), Catalog(date(2026, 12, 19))
    assert on_expiry.front_month("MNQ").local_symbol == "MNQZ6"
    assert after.front_month("MNQ").local_symbol == "MNQH7"
    assert on_expiry.resolve_symbol("MNQH7").con_id == after.resolve_symbol("MNQH7").con_id
    assert Catalog(TODAY).resolve_symbol("MNQH7").con_id == after.resolve_symbol("MNQH7").con_id


@pytest.mark.parametrize("pair", ["EUR.USD", "GBP.USD", "USD.CHF", "USD.JPY", "AUD.USD", "USD.CAD", "EUR.GBP",
                                  "EUR.CHF", "EUR.JPY"])
def test_forex_pairs_like_ib(catalog, pair):
    base, quote = pair.split(".")
    [spec] = catalog.match(ContractQuery(symbol=base, sec_type="CASH", currency=quote, exchange="IDEALPRO"))
    assert (spec.local_symbol, spec.trading_class, spec.exchange) == (pair, pair, "IDEALPRO")
    assert spec.min_tick == (0.005 if quote == "JPY" else 0.00005)
    [conversion] = catalog.match(ContractQuery(symbol=base, sec_type="CASH", currency=quote, exchange="FXCONV"))
    assert conversion.exchange == "FXCONV" and conversion.con_id == spec.con_id


def test_eurusd_is_ibs_contract(catalog):
    eurusd = catalog.by_con_id(12087792)
    assert (eurusd.symbol, eurusd.currency, eurusd.local_symbol) == ("EUR", "USD", "EUR.USD")
    assert len(catalog.match(ContractQuery(symbol="EUR", sec_type="CASH"))) == 4


def test_vix_index(catalog):
    [vix] = catalog.match(ContractQuery(symbol="VIX", sec_type="IND", exchange="CBOE", currency="USD"))
    assert vix.con_id == 13455763 and vix.sec_type == "IND"


def test_con_id_alone_suffices_and_unknown_contracts_match_nothing(catalog):
    assert [spec.symbol for spec in catalog.match(ContractQuery(con_id=756733))] == ["SPY"]
    [fx] = catalog.match(ContractQuery(con_id=12087792, exchange="FXCONV"))
    assert fx.exchange == "FXCONV"
    assert catalog.match(ContractQuery(con_id=999999999)) == []
    assert catalog.by_con_id(999999999) is None
    assert catalog.match(ContractQuery(symbol="NOSUCH", sec_type="STK", exchange="SMART")) == []
    assert catalog.match(ContractQuery(sec_type="STK", exchange="SMART")) == []
    assert catalog.match(ContractQuery(symbol="SPY", sec_type="OPT", strike=600.0, right="C")) == []


def test_resolve_symbol_for_admin_calls(catalog):
    assert catalog.resolve_symbol("SPY").con_id == 756733
    assert catalog.resolve_symbol(756733).symbol == "SPY"
    assert catalog.resolve_symbol("756733").symbol == "SPY"
    assert catalog.resolve_symbol("EUR.USD").con_id == 12087792
    assert catalog.resolve_symbol("eurusd").con_id == 12087792
    assert catalog.resolve_symbol("MNQ").local_symbol == "MNQZ6"
    assert catalog.resolve_symbol("ES").sec_type == "FUT"
    assert catalog.resolve_symbol("VIX").sec_type == "IND"
    with pytest.raises(KeyError, match="NOSUCH"):
        catalog.resolve_symbol("NOSUCH")
    with pytest.raises(KeyError, match="conId"):
        catalog.resolve_symbol(42)


def test_con_ids_are_unique(catalog):
    con_ids = [spec.con_id for spec in catalog.all()]
    assert len(con_ids) == len(set(con_ids)) > 30


def test_us_holidays_2026():
    assert us_holidays(2026) == {
        date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 4, 3), date(2026, 5, 25),
        date(2026, 6, 19), date(2026, 7, 3), date(2026, 9, 7), date(2026, 11, 26), date(2026, 12, 25)}
    # New Year's Day on a Saturday is not observed on the Friday before
    assert date(2021, 12, 31) not in us_holidays(2021) and date(2022, 1, 1) not in us_holidays(2022)
    assert third_friday(2026, 12) == date(2026, 12, 18)
