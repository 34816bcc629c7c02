import pytest

from lib.trading.limit_prices import limit_price


@pytest.mark.parametrize("action, reference, offset, tick, expected", [
    ("BUY", 100.0, 1, 0.01, 101.0),
    ("SELL", 100.0, 1, 0.01, 99.0),
    ("BUY", 100.0, -1, 0.01, 99.0),
    ("SELL", 100.0, -1, 0.01, 101.0),
    # off the tick: buys round down, sells round up, so the limit is never more aggressive than asked
    ("BUY", 21012.3, -0.5, 0.25, 20907.0),     # 20907.2385
    ("SELL", 21012.3, -0.5, 0.25, 21117.5),    # 21117.3615
    ("BUY", 0.3, 10, 0.1, 0.3),                # 0.33: float arithmetic would give 0.30000000000000004
    ("BUY", 452.17, 0, 0.01, 452.17),
])
def test_limit_price_is_offset_and_on_the_tick(action, reference, offset, tick, expected):
    assert limit_price(action, reference, offset, tick) == expected


def test_a_limit_with_no_positive_price_on_the_tick_is_refused():
    with pytest.raises(ValueError, match="no positive price"):
        limit_price("BUY", 0.2, -50, 0.25)


@pytest.mark.parametrize("action, reference, tick", [("HOLD", 1.0, 0.01), ("BUY", 0.0, 0.01), ("BUY", 1.0, 0.0)])
def test_nonsense_inputs_are_refused(action, reference, tick):
    with pytest.raises(ValueError):
        limit_price(action, reference, 1, tick)
