"""Finding 2 end to end: a day driven by the jobs of `deploy/scheduler-jobs`, each fired at its cron times with the
simulator's clock stepped there. A resting MNQ limit fills at 16:30 New York (CME trades until 17:00) and a SPY
limit with outsideRth at 19:30 (extended hours until 20:00), after the stock market's close: the ledger applies both
before IB's day ends, so the next day's reconciliation answers 200 and the same allocations do not buy them again."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.allocation import MNQ_PRICE, SPY, mnq_con_id, seed_for
from tests.support.macd_series import crossover_closes, no_crossover_closes
from tests.support.scheduled_jobs import Firing, day_of_firings

NEW_YORK = ZoneInfo("America/New_York")
DAY, NEXT_DAY = date(2026, 12, 1), date(2026, 12, 2)      # a Tuesday and a Wednesday, MNQZ6 the front month
# the simulator starts before the day's first job
START = datetime(2026, 12, 1, 6, 55, tzinfo=NEW_YORK).astimezone(timezone.utc)
RESTING = {"limitOffsetPercent": -5}                          # a buy limit 5% under the market rests


def dummy_run(order_properties: dict) -> dict:
    return {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}},
            "orderProperties": order_properties}


def spy_run(order_properties: dict) -> dict:
    return {"strategies": ["spymacdvixy"], "orderProperties": {"outsideRth": True, **order_properties}}


class Day:
    """The simulator's clock walked forward through the scheduled firings and the test's own events."""

    def __init__(self, t):
        self.t = t

    def step_to(self, moment: datetime) -> None:
        now = datetime.fromisoformat(self.t.simulator.state()["clock"]["now"])
        assert moment >= now, (moment, now)
        if moment > now:
            self.t.simulator.admin("POST", "/clock/step", {"seconds": (moment - now).total_seconds()})

    def fire(self, firing: Firing) -> dict:
        self.step_to(firing.at)
        status, body = self.t.post(firing.intent, firing.body)
        assert status == 200, (firing, body)
        return body

    def run(self, firings: list[Firing], events: dict[time, callable]) -> list[tuple[Firing, dict]]:
        """Fire every job in order, running each event when the clock passes its New York time."""
        pending = sorted(events.items())
        answers = []
        for firing in firings:
            while pending and pending[0][0] < firing.at.astimezone(NEW_YORK).time():
                at, event = pending.pop(0)
                self.step_to(datetime.combine(firing.at.date(), at, NEW_YORK))
                event()
            answers.append((firing, self.fire(firing)))
        for at, event in pending:
            self.step_to(datetime.combine(firings[-1].at.date(), at, NEW_YORK))
            event()
        return answers


def limit_of(result: dict, con_id: int) -> float:
    [trade] = [trade for trade in result["consolidatedTrades"] if trade["conId"] == con_id]
    return trade["limitPrice"]


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@BOTH_BACKENDS
def test_fills_after_the_stock_markets_close_are_in_the_ledger_the_next_day(trading):
    t = trading(workers=2, simulator_options={"now": START})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    # spymacdvixy's scheduled run sees no crossover and holds
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": no_crossover_closes()})
    day = Day(t)
    placed = {}

    def dummy_rests():
        placed["dummy"] = t.allocate(**dummy_run(RESTING))
        [order] = placed["dummy"]["orders"]
        assert order["status"] in ("PreSubmitted", "Submitted")

    def spy_rests_outside_regular_hours():
        t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
        placed["spy"] = t.allocate(**spy_run(RESTING))
        [order] = placed["spy"]["orders"]
        assert order["conId"] == SPY and order["status"] in ("PreSubmitted", "Submitted")

    def mnq_fills():
        mnq = mnq_con_id(placed["dummy"])
        t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": round(limit_of(placed["dummy"], mnq) * 0.99)})
        t.wait_filled({mnq: 2})

    def spy_fills():
        quantity = placed["spy"]["orders"][0]["quantity"]
        t.simulator.admin("POST", "/price", {"symbol": "SPY", "price": round(limit_of(placed["spy"], SPY) * 0.99, 2)})
        t.wait_filled({mnq_con_id(placed["dummy"]): 2, SPY: quantity})

    answers = day.run(day_of_firings(DAY), {time(15, 55): dummy_rests, time(16, 20): spy_rests_outside_regular_hours,
                                            time(16, 30): mnq_fills, time(19, 30): spy_fills})
    expected = {mnq_con_id(placed["dummy"]): 2, SPY: placed["spy"]["orders"][0]["quantity"]}
    assert t.broker_positions() == expected

    # IB's day ends at midnight: its lists of executions and completed orders start over
    morning = [firing for firing in day_of_firings(NEXT_DAY) if firing.at.astimezone(NEW_YORK).time() < time(9)]
    day.run(morning, {})
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert body["executionsSeen"] == 0 and t.open_order_records() == []
    assert t.holdings("dummy") == {mnq_con_id(placed["dummy"]): 2}
    assert t.holdings("spymacdvixy") == {SPY: expected[SPY]}
    # the same allocations (another limit offset only, or they would answer "duplicate" within retryCheckMinutes)
    again = t.allocate(**dummy_run({"limitOffsetPercent": -4}))
    assert again["orders"] == [] and again["unconfirmed"] == {}, again
    # spymacdvixy is sized again at today's prices: it trades only the difference from what it holds
    again = t.allocate(**spy_run({"limitOffsetPercent": -4}))
    plan = again["strategies"]["spymacdvixy"]
    assert plan["holdings"] == {str(SPY): expected[SPY]} and again["unconfirmed"] == {}
    assert plan["trades"] == {str(SPY): plan["targetPositions"][str(SPY)] - expected[SPY]}
    # the catch-ups after CME's close and after extended hours applied the fills
    assert [firing.at.astimezone(NEW_YORK).strftime("%H:%M") for firing, body in answers
            if firing.intent == "trade-reconciliation" and body["applied"]] == ["16:50", "20:50"]
