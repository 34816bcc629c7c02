"""Unit tests of the simulated clock."""

from datetime import datetime, timedelta, timezone

import pytest

from simulator.engine.clock import Clock
from tests.support.clock import NOW

START = NOW


def test_frozen_clock_stays_at_its_start():
    clock = Clock(START)
    assert clock.now() == START and clock.now() == START
    assert clock.now().tzinfo is not None and clock.now().utcoffset() == timedelta(0)
    assert clock.frozen and clock.offset_s == 0


def test_naive_and_non_utc_starts_are_normalised_to_utc():
    assert Clock(datetime(2026, 11, 24, 15, 30)).now() == START
    new_york = timezone(timedelta(hours=-5))
    moved = Clock(datetime(2026, 11, 24, 10, 30, tzinfo=new_york)).now()
    assert moved == START and moved.utcoffset() == timedelta(0)


def test_step_moves_forward_and_accumulates_the_offset():
    clock = Clock(START)
    clock.step(3600)
    clock.step(0.5)
    clock.step(0)
    assert clock.now() == START + timedelta(seconds=3600.5)
    assert clock.offset_s == 3600.5


def test_negative_step_is_refused():
    clock = Clock(START)
    with pytest.raises(ValueError, match="forward"):
        clock.step(-1)
    assert clock.now() == START


def test_real_time_clock_follows_the_system_clock_plus_offset():
    clock = Clock()
    assert not clock.frozen
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)
    clock.step(86400)
    assert abs(clock.now() - datetime.now(timezone.utc) - timedelta(days=1)) < timedelta(seconds=5)
