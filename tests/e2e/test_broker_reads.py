"""Broker reads end to end under IB's partial failures: one strategy's refused history, a connectivity loss."""
from __future__ import annotations

from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.macd_series import crossover_closes
from tests.support.simulator_process import wait_until

CONNECTIVITY_LOSS_S = 4


def test_a_pacing_violation_on_one_strategys_history_leaves_the_other_trading(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    # IB answers a historical request over its pacing limits with 162 (TWS API message codes)
    t.simulator.admin("POST", "/faults", {"kind": "pacing", "count": 1})

    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(1)}})

    assert set(result["errors"]) == {"spymacdvixy"}
    assert "history SPY" in result["errors"]["spymacdvixy"] and "162" in result["errors"]["spymacdvixy"]
    mnq = mnq_con_id(result)
    [order] = result["orders"]
    assert order["conId"] == mnq and order["source"] == {"dummy": 2}
    t.wait_filled({mnq: 2})


def test_connectivity_loss_makes_the_worker_unready_until_ib_restores_it(trading):
    t = trading(workers=1)
    pid = t.service.request("GET", "/readyz")[1]["pid"]
    reconnects = t.service.reconnects()

    # 1100 while the API socket stays open; 1102 after `seconds` (IB's system message codes)
    t.simulator.admin("POST", "/faults", {"kind": "connectivity", "seconds": CONNECTIVITY_LOSS_S})
    lost = wait_until(lambda: (lambda answer: answer[0] == 503 and answer)(t.service.request("GET", "/readyz")),
                      timeout_s=CONNECTIVITY_LOSS_S, what="/readyz 503 after 1100")
    assert "1100" in lost[1]["lastError"]
    status, refused = t.post("close-all", {"dryRun": True})
    assert status == 503 and "1100" in refused["error"]

    wait_until(lambda: t.service.request("GET", "/readyz")[0] == 200, timeout_s=CONNECTIVITY_LOSS_S + 10,
               what="/readyz 200 after 1102")
    ready = t.service.request("GET", "/readyz")[1]
    assert ready["pid"] == pid and ready["reconnects"] == reconnects and ready["lastError"] is None
    status, summary = t.post("summary")
    assert status == 200, summary
