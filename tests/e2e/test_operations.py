"""The operational intents end to end: cash-balancer, risk-check, eod-check, collect-market-data (the last two, which
close positions and write each day once, on Firestore too)."""
from __future__ import annotations

from ib_async import Forex, MarketOrder

from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.simulator_process import wait_until


def cash(t) -> dict[str, float]:
    return {currency: round(amount, 2) for currency, amount in t.simulator.state()["cash"].items()}


def test_cash_balancer_sweeps_a_eur_balance_in_whole_lots(trading, connect):
    t = trading(config={"cashBalanceThresholdInBaseCurrency": 1000})
    other = connect(t.simulator)
    [eur_usd] = other.qualifyContracts(Forex("EURUSD", exchange="FXCONV"))
    trade = other.placeOrder(eur_usd, MarketOrder("BUY", 20_500))
    wait_until(lambda: trade.isDone(), timeout_s=10, what="the EUR purchase", pump=other.sleep)
    assert cash(t)["EUR"] == 20_500
    wait_until(lambda: t.post("cash-balancer", {"dryRun": True})[1]["conversions"] != [], timeout_s=10,
               what="the service to see the EUR balance")

    status, dry = t.post("cash-balancer", {"dryRun": True})
    assert status == 200
    [planned] = dry["conversions"]
    assert planned["pair"] == "EUR.USD" and planned["action"] == "SELL" and planned["quantity"] == 20_000
    assert dry["orders"] == [] and cash(t)["EUR"] == 20_500

    status, body = t.post("cash-balancer")
    assert status == 200, body
    [order] = body["orders"]
    assert order["status"] in ("PreSubmitted", "Submitted", "Filled")
    wait_until(lambda: cash(t)["EUR"] == 500, timeout_s=10, what="the EUR balance to be swept")
    [broker_order] = [o for o in t.broker_orders() if o["contract"]["sec_type"] == "CASH"
                      and o["request"]["action"] == "SELL"]
    assert broker_order["contract"]["exchange"] == "FXCONV"
    # the conversion was recorded like a strategy order: its execution is matched, and it changes no holdings
    status, reconciled = t.post("trade-reconciliation")
    assert status == 200, reconciled
    assert [e["orderRef"] for e in reconciled["unmatchedExecutions"]] == [""]
    assert t.open_order_records() == [] and t.store.query("positions/paper/holdings") == []


def test_cash_balancer_leaves_balances_under_the_threshold(trading, connect):
    t = trading(config={"cashBalanceThresholdInBaseCurrency": 50_000})
    other = connect(t.simulator)
    [eur_usd] = other.qualifyContracts(Forex("EURUSD", exchange="FXCONV"))
    other.placeOrder(eur_usd, MarketOrder("BUY", 20_000))
    wait_until(lambda: cash(t).get("EUR") == 20_000, timeout_s=10, what="the EUR purchase")
    status, body = t.post("cash-balancer")
    assert status == 200 and body["conversions"] == [] and body["orders"] == []


def test_risk_check_needs_the_morning_allocation(trading):
    t = trading(config={"maxDailyDrawdownPercent": 1})
    status, body = t.post("risk-check")
    assert status == 409
    assert "the morning allocation did not run today" in body["error"]
    [activity] = t.activity("risk-check")
    assert activity["status"] == "failed" and activity["exception"] == body["error"]


def test_risk_check_fires_on_a_drawdown(trading):
    # account updates at IB's own interval (180 s): risk-check must see the drawdown at once all the same
    t = trading(config={"maxDailyDrawdownPercent": 1}, simulator_options={"account_update_s": 180})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    t.wait_filled({mnq_con_id(result): 2})

    status, calm = t.post("risk-check")
    assert status == 200, calm
    assert calm["alertTriggered"] is False and calm["drawdownPercent"] < 1
    assert calm["startOfDayNetLiquidation"] == 1_000_000
    samples = [doc.data for doc in t.store.query("metrics/paper/netLiquidation", order_by=[("at", "ASCENDING")])]
    assert [(s["source"], s["value"]) for s in samples] == [("allocation", result["netLiquidation"]["value"]),
                                                            ("risk-check", calm["netLiquidation"])]

    # two MNQ contracts losing 3,000 points x 2 each: 12,000, 1.2 % of the account
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE - 3000})
    wait_until(lambda: t.post("risk-check")[1]["alertTriggered"], timeout_s=10, what="the drawdown alert")
    status, alarm = t.post("risk-check")
    assert status == 200 and alarm["drawdownPercent"] > 1
    assert '"severity": "ERROR", "message": "daily drawdown' in t.service.log()


@BOTH_BACKENDS
def test_eod_check_reports_and_with_enforce_flat_closes_everything(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    mnq = mnq_con_id(result)
    t.wait_filled({mnq: 2})

    t.step_into_eod_window()
    status, report = t.post("eod-check")
    assert status == 200, report
    assert report["ledgerBrokerDifferences"] == {} and report["openOrders"] == []
    assert report["holdings"] == {"dummy": {str(mnq): 2}} and report["closeAll"] is None
    assert t.broker_positions() == {mnq: 2}

    config = t.store.get("config/paper")
    t.store.set("config/paper", {**config, "enforceFlatEod": True})
    status, report = t.post("eod-check")
    assert status == 200, report
    [order] = report["closeAll"]["orders"]
    assert order["action"] == "SELL" and order["quantity"] == 2
    t.wait_filled({})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {}


@BOTH_BACKENDS
def test_collect_market_data_stores_each_day_once(trading):
    instruments = [{"kind": "stock", "symbol": "SPY", "primary_exchange": "ARCA"}, {"kind": "forex", "pair": "EURUSD"}]
    t = trading(config={"marketData": {"instruments": instruments, "duration": "10 D"}})
    status, first = t.post("collect-market-data")
    assert status == 200, first
    assert set(first["instruments"]) == {"SPY", "EUR.USD"}
    spy = first["instruments"]["SPY"]
    assert spy["bars"] >= 5 and spy["written"] == spy["bars"]
    days = t.store.query(f"marketData/{spy['conId']}/daily")
    assert len(days) == spy["bars"]
    assert all(day.data["high"] >= day.data["low"] > 0 for day in days)
    assert max(day.data["date"] for day in days) < "2026-11-24"

    status, second = t.post("collect-market-data")
    assert status == 200
    assert all(entry["written"] == 0 for entry in second["instruments"].values())
    assert len(t.store.query(f"marketData/{spy['conId']}/daily")) == spy["bars"]
    assert [run["status"] for run in t.activity("collect-market-data")] == ["done", "done"]
