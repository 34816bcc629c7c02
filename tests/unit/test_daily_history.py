"""Years of daily bars asked of IB in pieces: the duration bounds, and only the days no earlier fetch covered."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from intents.collect_market_data import CollectMarketData
from lib.broker.daily_history import check_daily_duration, missing_pieces, span_start
from lib.broker.instrument_specs import instrument_from_spec, instrument_spec
from lib.broker.instruments import Forex, Future, Stock
from lib.errors import BadRequest

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize("text", ["10 D", "365 D", "52 W", "12 M", "1 Y", "30 Y"])
def test_daily_durations_within_ibs_units(text):
    assert check_daily_duration(text)[1] == text[-1]


@pytest.mark.parametrize("text", ["366 D", "53 W", "13 M", "31 Y", "10 S", "0 D", "10D", "ten Y"])
def test_other_durations_are_refused(text):
    with pytest.raises(ValueError):
        check_daily_duration(text)


def test_a_first_fetch_asks_each_calendar_year_newest_first_the_newest_without_an_end():
    pieces = missing_pieces(span_start("3 Y", TODAY), TODAY, {})
    assert [(p.first, p.last) for p in pieces] == [
        (date(2026, 1, 1), TODAY), (date(2025, 1, 1), date(2025, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2023, 3, 10), date(2023, 12, 31))]
    requests = [p.request("SPY", "TRADES") for p in pieces]
    assert [(r.duration, r.end) for r in requests] == [
        ("69 D", ""), ("365 D", "20251231 17:00:00 US/Eastern"), ("1 Y", "20241231 17:00:00 US/Eastern"),
        ("297 D", "20231231 17:00:00 US/Eastern")]


def test_fetched_days_are_not_asked_again():
    fetched = {2026: (date(2026, 1, 1), date(2026, 3, 9)), 2025: (date(2025, 1, 1), date(2025, 12, 31))}
    assert missing_pieces(date(2025, 1, 1), TODAY, fetched) == []
    # a day later only the newest days; a longer span adds the older year
    later = missing_pieces(date(2024, 6, 1), date(2026, 3, 12), fetched)
    assert [(p.first, p.last) for p in later] == [(date(2026, 3, 10), date(2026, 3, 12)),
                                                  (date(2024, 6, 1), date(2024, 12, 31))]
    assert later[0].request("SPY", "TRADES").end == ""


def test_a_year_fetched_at_its_end_is_completed_at_its_start():
    pieces = missing_pieces(date(2025, 1, 1), TODAY, {2025: (date(2025, 7, 1), date(2025, 12, 31)),
                                                      2026: (date(2026, 1, 1), date(2026, 3, 9))})
    assert [(p.first, p.last) for p in pieces] == [(date(2025, 1, 1), date(2025, 6, 30))]


@pytest.mark.parametrize("instrument", [Stock("SPY"), Stock("SPY", primary_exchange="ARCA"), Forex("EUR.USD"),
                                        Future("MNQ", "CME", expiry_scheme="monthly")])
def test_an_instrument_spec_names_the_same_instrument(instrument):
    assert instrument_from_spec(instrument_spec(instrument)) == instrument


def test_instrument_spec_leaves_defaults_out():
    assert instrument_spec(Stock("SPY")) == {"kind": "stock", "symbol": "SPY"}


NOW = datetime(2026, 3, 10, 15, tzinfo=timezone.utc)


def test_the_request_names_instruments_and_duration():
    params = CollectMarketData.parse_params({"instruments": [{"kind": "stock", "symbol": "SPY"}],
                                             "duration": "10 Y"}, NOW)
    assert params.instruments == [{"kind": "stock", "symbol": "SPY"}] and params.duration == "10 Y"
    query = CollectMarketData.parse_params({"instruments": '[{"kind": "forex", "pair": "EURUSD"}]'}, NOW)
    assert query.instruments == [{"kind": "forex", "pair": "EURUSD"}]


@pytest.mark.parametrize("body, named", [
    ({"duration": "400 D"}, "duration"), ({"duration": "31 Y"}, "duration"),
    ({"instruments": [{"kind": "bond", "symbol": "X"}]}, "instruments[0]"),
    ({"instruments": [{"kind": "stock"}]}, "instruments[0]"), ({"instruments": []}, "instruments")])
def test_invalid_instruments_and_durations_are_refused_by_name(body, named):
    with pytest.raises(BadRequest, match=re.escape(f"parameter {named!r}")):
        CollectMarketData.parse_params(body, NOW)
