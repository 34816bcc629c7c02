"""Early closes end to end: on NYSE's early-close days (the day after Thanksgiving and Christmas Eve close at 13:00
New York) the scheduled eod-check with `enforceFlatEod` flattens the account before the actual close, not three
hours after it, when its DAY orders would wait for the next session over a long weekend."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_scheduled_day import Day
from tests.support.allocation import SPY
from tests.support.macd_series import crossover_closes
from tests.support.scheduled_jobs import day_of_firings

NEW_YORK = ZoneInfo("America/New_York")
BLACK_FRIDAY = date(2026, 11, 27)
START = datetime(2026, 11, 27, 6, 55, tzinfo=NEW_YORK).astimezone(timezone.utc)   # before the first job
EARLY_CLOSE = datetime(2026, 11, 27, 13, 0, tzinfo=NEW_YORK)


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_on_an_early_close_the_scheduled_jobs_leave_nothing_open_at_the_close(trading):
    t = trading(workers=2, config={"enforceFlatEod": True}, simulator_options={"now": START})
    day = Day(t)
    firings = [f for f in day_of_firings(BLACK_FRIDAY) if f.at <= EARLY_CLOSE]

    def bullish_crossover_today():
        # the 09:45 allocation then sees today's session cross: spymacdvixy buys SPY
        t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})

    answers = day.run(firings, {time(9, 40): bullish_crossover_today})

    [allocation] = [body for firing, body in answers if firing.intent == "allocation"]
    assert [o["conId"] for o in allocation["orders"]] == [SPY]
    eod = {firing.at.astimezone(NEW_YORK).strftime("%H:%M"): body for firing, body in answers
           if firing.intent == "eod-check"}
    assert list(eod) == ["12:40", "12:50"]
    [order] = eod["12:40"]["closeAll"]["orders"]
    assert order["conId"] == SPY and order["action"] == "SELL"
    day.step_to(EARLY_CLOSE)
    t.wait_filled({})
    assert t.broker_positions() == {} and t.simulator.state()["open_orders"] == []


def test_eod_check_outside_its_window_does_nothing_and_says_when_it_acts(trading):
    t = trading(workers=1, config={"enforceFlatEod": True},
                simulator_options={"now": datetime(2026, 11, 27, 15, 50, tzinfo=NEW_YORK).astimezone(timezone.utc)})

    status, body = t.post("eod-check")

    assert status == 200, body
    assert body["status"] == "outside the window"
    assert "XNYS closes at 13:00 New York today; eod-check acts from 12:40 until 12:55" in body["reason"]
    assert t.broker_orders() == []


def test_the_eod_check_job_fires_before_both_closes():
    times = [f.at.astimezone(NEW_YORK).time() for f in day_of_firings(BLACK_FRIDAY) if f.intent == "eod-check"]
    assert time(12, 40) in times and time(15, 50) in times
