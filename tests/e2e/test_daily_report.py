"""The daily report of a day in which only the service trades: its strategies' PnL from their own cost basis, less
commissions, is the change of the account's NetLiquidation."""
from __future__ import annotations

from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for

# IB pushes account values and the portfolio together about every 3 minutes (EClient::reqAccountUpdates)
PAST_AN_ACCOUNT_UPDATE_S = 200


def test_realised_plus_unrealised_less_commissions_is_the_change_in_net_liquidation(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    mnq = mnq_con_id(t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}}))
    t.wait_filled({mnq: 2})
    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": 1.5})
    # from long 2 to short 2: 2 realised against the morning's cost, 2 opened at the new price
    t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(-1)}})
    t.wait_filled({mnq: -2})
    t.simulator.admin("POST", "/price/move", {"symbol": "MNQ", "pct": -0.7})
    t.simulator.admin("POST", "/clock/step", {"seconds": PAST_AN_ACCOUNT_UPDATE_S})

    status, report = t.post("daily-report")
    assert status == 200, report
    dummy = report["strategies"]["dummy"]
    assert report["fills"] >= 2 and dummy["realized"] != 0 and dummy["unrealized"] != 0 and dummy["commissions"] > 0
    assert abs(report["totalPnl"] - report["netLiquidationChange"]) <= 0.01 * report["fills"], report
    stored = t.store.get(f"reports/paper/daily/{report['day']}")
    assert stored["totalPnl"] == report["totalPnl"]
    [event] = [doc.data for doc in t.store.query("events", where=[("kind", "==", "daily.report")])]
    assert event["data"]["netLiquidationClose"] == report["netLiquidationClose"]
