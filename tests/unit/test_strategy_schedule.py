"""Rebalancing schedules by the exchange calendar, history lengths in sessions, and quantity targets."""
from __future__ import annotations

from datetime import date

import pytest

from lib.broker.parsing import ContractInfo
from strategies.base import Signals, StrategyError, StrategyInputs
from strategies.plan import StrategyPlan, size
from strategies.schedule import (first_session_of_month, first_session_of_quarter, first_session_of_week,
                                 history, history_duration, is_first_session)

MNQ = ContractInfo(con_id=1, symbol="MNQ", local_symbol="MNQZ6", sec_type="FUT", currency="USD", exchange="CME",
                   multiplier=2.0)


@pytest.mark.parametrize("day, expected", [
    (date(2026, 1, 2), True),     # New Year's Day is a holiday: Friday the 2nd opens the month
    (date(2026, 1, 1), False),    # not a session
    (date(2026, 1, 5), False),
    (date(2026, 6, 1), True),
    (date(2026, 11, 2), True),
])
def test_first_session_of_the_month_by_the_nyse_calendar(day, expected):
    assert first_session_of_month(day) is expected


def test_first_sessions_of_weeks_and_quarters():
    assert first_session_of_week(date(2026, 1, 20))          # Tuesday after Martin Luther King Day
    assert not first_session_of_week(date(2026, 1, 21))
    assert first_session_of_quarter(date(2026, 4, 1)) and not first_session_of_quarter(date(2026, 5, 1))
    assert first_session_of_quarter(date(2026, 1, 2))
    with pytest.raises(ValueError, match="period must be one of"):
        is_first_session(date(2026, 1, 2), "fortnight")
    with pytest.raises(ValueError, match="unknown exchange calendar"):
        is_first_session(date(2026, 1, 2), "month", "NOPE")


@pytest.mark.parametrize("sessions, duration", [(1, "1 D"), (200, "200 D"), (365, "365 D"), (366, "3 Y"),
                                                (504, "3 Y"), (505, "4 Y")])
def test_history_lengths_in_sessions(sessions, duration):
    assert history_duration(sessions) == duration
    assert history("SPY", sessions).duration == duration


def test_closes_keeps_the_last_sessions_asked_for():
    import pandas as pd

    bars = pd.DataFrame({"date": range(5), "close": [1.0, 2, 3, 4, 5]})
    inputs = StrategyInputs(bars={"SPY": bars}, today=date(2026, 1, 2))
    assert list(inputs.closes("SPY", 2)) == [4.0, 5.0]
    with pytest.raises(StrategyError, match="needs 6 daily bars, got 5"):
        inputs.closes("SPY", 6)


def test_quantity_targets_are_held_whatever_the_exposure():
    inputs = StrategyInputs(contracts={"MNQ": MNQ}, holdings={MNQ.con_id: 3})
    assert inputs.held("MNQ") == 3
    plan = StrategyPlan("trend", {MNQ.con_id: 3}, {}, exposure=10_000_000.0,
                        signals=Signals.target_quantities({MNQ.con_id: 1}))
    size(plan, {}, {}, {})
    assert plan.targets == {MNQ.con_id: 1} and plan.trades == {MNQ.con_id: -2}
    assert plan.report()["signals"]["quantities"] == {"1": 1}


@pytest.mark.parametrize("arguments", [{"weights": {1: 1.0}, "quantities": {1: 1}}, {"weights": None},
                                       {"weights": None, "quantities": {1: 1.5}}])
def test_signals_hold_exactly_one_kind_of_target(arguments):
    with pytest.raises(ValueError):
        Signals(**arguments)
