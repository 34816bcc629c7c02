"""The account the dashboard tests look at, built over HTTP as an operator's day would build it: an allocation that
fills, a reconcile started by Cloud Scheduler, an allocation whose limit orders rest, a person's trade that fills
and a person's order that rests (through their own ib_async client), then a trade-reconciliation that fails on the
person's position, and the day's report."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ib_async import LimitOrder, MarketOrder, Stock

from tests.support.allocation import MNQ_PRICE, SPY, mnq_con_id, seed_for
from tests.support.macd_series import crossover_closes
from tests.support.simulator_process import wait_until

# what Cloud Scheduler sends to an HTTP target (lib/http/trigger.py names the sources)
SCHEDULER_HEADERS = {"User-Agent": "Google-Cloud-Scheduler", "X-CloudScheduler": "true",
                     "X-CloudScheduler-JobName": "ib-trading-reconcile",
                     "X-CloudScheduler-ScheduleTime": "2026-11-24T15:30:00Z"}
PERSON_LIMIT = 100.0


@dataclass
class Scenario:
    """Attributes:
        filled: the first allocation's result (dummy, MNQ x 2, filled).
        resting: the second allocation's result (spymacdvixy, SPY limit orders that rest).
        person_perm_id: the permId of the person's resting SPY order.
        failure: the body of the failed trade-reconciliation (500).
        report: daily-report's answer.
    """

    t: object
    filled: dict
    resting: dict
    mnq: int
    aapl: int
    person_perm_id: int
    failure: dict
    report: dict


def build(t, connect) -> Scenario:
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    filled = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    mnq = mnq_con_id(filled)
    t.wait_filled({mnq: 2})
    status, body = t.service.request("POST", "/reconcile", {}, headers=SCHEDULER_HEADERS)
    assert status == 200, body

    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    resting = t.allocate(strategies=["spymacdvixy"], orderProperties={"limitOffsetPercent": -1})
    assert [o["status"] in ("PreSubmitted", "Submitted") for o in resting["orders"]] == [True], resting["orders"]

    person = connect(t.simulator)
    [aapl] = person.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    person.placeOrder(aapl, MarketOrder("BUY", 7))
    t.wait_filled({mnq: 2, aapl.conId: 7})
    [spy] = person.qualifyContracts(Stock("SPY", "SMART", "USD"))
    trade = person.placeOrder(spy, LimitOrder("BUY", 1, PERSON_LIMIT, tif="GTC", orderRef="by-hand"))
    wait_until(lambda: trade.orderStatus.status == "Submitted" and trade.order.permId, timeout_s=10,
               what="the person's order to rest", pump=person.sleep)

    status, failure = t.post("trade-reconciliation")
    assert status == 500 and failure["error"].startswith("LedgerMismatch"), failure
    status, report = t.post("daily-report")
    assert status == 200 and report["differences"], report
    assert spy.conId == SPY
    return Scenario(t, filled, resting, mnq, aapl.conId, trade.order.permId, failure, report)


def store_rows(path) -> list[tuple]:
    """Every document of the SQLite store, read past the service (to prove a request changed nothing)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT collection, id, data FROM documents ORDER BY collection, id").fetchall()
