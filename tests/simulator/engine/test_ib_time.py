"""The IB time parser, as order times and as historical end dates read it."""

from datetime import datetime, timezone

import pytest

from simulator.engine.ib_time import END_OF_DAY, parse_ib_time


def historical_end(text: str):
    """The reading the reqHistoricalData handler asks for."""
    return parse_ib_time(text, "US/Eastern", date_only_at=END_OF_DAY, abbreviations={})


@pytest.mark.parametrize("text, expected", [
    ("20261124 21:00:00 UTC", datetime(2026, 11, 24, 21, tzinfo=timezone.utc)),
    ("20261124-21:00:00", datetime(2026, 11, 24, 21, tzinfo=timezone.utc)),
    ("20261124 16:00:00 US/Eastern", datetime(2026, 11, 24, 21, tzinfo=timezone.utc)),
    ("20261124  16:00:00", datetime(2026, 11, 24, 21, tzinfo=timezone.utc)),
])
def test_ib_datetimes(text, expected):
    assert historical_end(text) == expected
    assert parse_ib_time(text, "US/Eastern") == expected


def test_ib_datetime_rejects_garbage():
    assert historical_end("") is None
    assert parse_ib_time("  ") is None
    with pytest.raises(ValueError, match="invalid time 'yesterday'"):
        historical_end("yesterday")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        parse_ib_time("20261124 16:00:00 Mars/Olympus")


def test_a_date_alone_starts_an_order_day_but_ends_a_historical_request_day():
    assert parse_ib_time("20261124") == datetime(2026, 11, 24, 5, tzinfo=timezone.utc)
    assert historical_end("20261124") == datetime(2026, 11, 25, 4, 59, 59, tzinfo=timezone.utc)


def test_order_times_read_zone_abbreviations_as_ib_means_them():
    # in July EST means US/Eastern daylight time to IB; as a plain zone name it is a fixed UTC-5
    assert parse_ib_time("20260701 10:00:00 EST") == datetime(2026, 7, 1, 14, tzinfo=timezone.utc)
    assert historical_end("20260701 10:00:00 EST") == datetime(2026, 7, 1, 15, tzinfo=timezone.utc)
    assert parse_ib_time("20261124 10:00 cet") == datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="unknown time zone 'EDT'"):
        historical_end("20260701 10:00:00 EDT")
