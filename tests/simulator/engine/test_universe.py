"""Unit tests of the broader catalog: every contract complete, IB's public conIds, futures specs and expiries."""

from datetime import date

import pytest

from simulator.engine.catalog import Catalog, ContractQuery
from simulator.engine.clock import Clock
from simulator.engine.futures_expiry import contract_months
from simulator.engine.market import Market
from simulator.engine.universe import LARGE_ETFS, S_AND_P_100
from tests.support.clock import NOW

CATALOG = Catalog(NOW.date())


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(5, CATALOG, Clock(NOW))


def test_every_contract_is_complete(market):
    specs = CATALOG.all()
    assert len({spec.con_id for spec in specs}) == len(specs) > 200
    for spec in specs:
        assert spec.long_name and spec.min_tick > 0 and spec.valid_exchanges and spec.time_zone_id, spec
        assert spec.trading_hours.count(";") == 6 and spec.liquid_hours, spec
        quote = market.quote(spec.con_id)
        what = "MIDPOINT" if spec.sec_type == "CASH" else "TRADES"
        bars = market.bars(spec.con_id, end=None, duration="3 D", bar_size="1 day", use_rth=True, what_to_show=what)
        assert len(bars) == 3 and bars[-1].close == quote.last > 0, spec
        assert round(quote.last / spec.min_tick, 6) % 1 == 0, spec


def test_the_s_and_p_100_and_large_etfs_are_listed():
    symbols = {spec.symbol for spec in CATALOG.all() if spec.sec_type == "STK"}
    assert {listing.symbol for listing in (*S_AND_P_100, *LARGE_ETFS)} <= symbols
    assert {"TSLA", "AMD", "INTC", "IBM", "BRK B", "DIA", "VOO"} <= symbols and len(symbols) >= 150


@pytest.mark.parametrize("symbol, con_id, primary, trading_class", [
    ("TSLA", 76792991, "NASDAQ", "NMS"), ("IBM", 8314, "NYSE", "IBM"), ("BRK B", 72063691, "NYSE", "BRK B"),
    ("META", 107113386, "NASDAQ", "NMS"), ("DIA", 73128548, "ARCA", "DIA")])
def test_public_conids_are_ibs(symbol, con_id, primary, trading_class):
    [spec] = CATALOG.match(ContractQuery(symbol=symbol, sec_type="STK", exchange="SMART", currency="USD"))
    assert (spec.con_id, spec.primary_exchange, spec.trading_class) == (con_id, primary, trading_class)


@pytest.mark.parametrize("symbol, exchange, con_id", [("SPX", "CBOE", 416904), ("NDX", "NASDAQ", None),
                                                      ("RUT", "RUSSELL", None)])
def test_indices(symbol, exchange, con_id):
    [spec] = CATALOG.match(ContractQuery(symbol=symbol, sec_type="IND", exchange=exchange))
    assert spec.exchange == exchange and (con_id is None or spec.con_id == con_id)


@pytest.mark.parametrize("trading_class, symbol, exchange, multiplier, tick", [
    ("ES", "ES", "CME", 50, 0.25), ("MES", "MES", "CME", 5, 0.25), ("NQ", "NQ", "CME", 20, 0.25),
    ("MNQ", "MNQ", "CME", 2, 0.25), ("RTY", "RTY", "CME", 50, 0.1), ("M2K", "M2K", "CME", 5, 0.1),
    ("YM", "YM", "CBOT", 5, 1.0), ("MYM", "MYM", "CBOT", 0.5, 1.0), ("CL", "CL", "NYMEX", 1000, 0.01),
    ("MCL", "MCL", "NYMEX", 100, 0.01), ("GC", "GC", "COMEX", 100, 0.1), ("MGC", "MGC", "COMEX", 10, 0.1),
    ("ZN", "ZN", "CBOT", 1000, 0.015625), ("6E", "EUR", "CME", 125000, 0.00005),
    ("M6E", "M6E", "CME", 12500, 0.0001)])
def test_futures_specs(trading_class, symbol, exchange, multiplier, tick):
    series = CATALOG.match(ContractQuery(symbol=symbol, sec_type="FUT", exchange=exchange,
                                         trading_class=trading_class))
    assert len(series) == 4
    for spec in series:
        assert (spec.multiplier, spec.min_tick, spec.currency) == (multiplier, tick, "USD")
        assert spec.local_symbol.startswith(trading_class) and spec.time_zone_id == "US/Central"
        # CME Globex: 18:00 New York (17:00 Chicago) the evening before to 17:00 (16:00 Chicago)
        assert "1700-" in spec.trading_hours and spec.trading_hours.split(";")[0].endswith("1600")


@pytest.mark.parametrize("cycle, first, expiry", [
    ("equity-index", date(2026, 12, 1), date(2026, 12, 18)), ("fx", date(2026, 12, 1), date(2026, 12, 14)),
    ("treasury", date(2026, 12, 1), date(2026, 12, 21)), ("metal", date(2026, 12, 1), date(2026, 12, 29)),
    ("crude", date(2027, 1, 1), date(2026, 12, 21)), ("crude-micro", date(2027, 1, 1), date(2026, 12, 18))])
def test_first_live_contract_of_each_cycle(cycle, first, expiry):
    months = contract_months(cycle, date(2026, 11, 24), live=4, expired=4)
    assert len(months) == 8 and months[4] == (first, expiry)
    assert all(last < date(2026, 11, 24) for _, last in months[:4])


def test_a_contract_month_names_the_contract_not_its_last_trade_month():
    [january] = CATALOG.match(ContractQuery(symbol="CL", sec_type="FUT", last_trade_date="202701"))
    assert (january.local_symbol, january.last_trade_date) == ("CLF7", "20261221")
    assert CATALOG.resolve_symbol("CL").sec_type == "STK" and CATALOG.front_month("CL").local_symbol == "CLF7"


def test_futures_follow_their_underlying(market):
    es_index = CATALOG.match(ContractQuery(symbol="SPX", sec_type="IND"))[0]
    assert market.price(CATALOG.front_month("MES").con_id) == market.price(CATALOG.front_month("ES").con_id)
    assert market.price(CATALOG.front_month("ES").con_id) == pytest.approx(market.price(es_index.con_id), rel=0.02)
    euro = CATALOG.resolve_symbol("EUR.USD").con_id
    assert market.price(CATALOG.front_month("EUR").con_id) == pytest.approx(market.price(euro), rel=0.01)
