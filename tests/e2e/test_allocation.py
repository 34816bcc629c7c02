"""`allocation` end to end: HTTP -> gunicorn -> bridge -> simulator, ledger and activity in SQLite; the tests of what
the store decides (holdings from fills, duplicate-run claims, strategy locks, claims given back, nothing recorded
for a failed or rejected order) in Firestore on Google's emulator as well (BOTH_BACKENDS)."""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lib.trading.sizing import round_half_away
from tests.e2e.conftest import BOTH_BACKENDS
from tests.support.run_outcomes import one_done_the_rest_turned_away
from tests.support.allocation import MNQ_PRICE, SPY, mnq_con_id, seed_for
from tests.support.macd_series import crossover_closes, no_crossover_closes

NET_LIQUIDATION = 1_000_000.0
DUMMY_EXPOSURE = NET_LIQUIDATION * 0.9 * 0.1
SPY_EXPOSURE = NET_LIQUIDATION * 0.9 * 0.9
VIXY = 283724339


@BOTH_BACKENDS
def test_dummy_places_the_expected_mnq_order_which_fills_into_holdings(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    seed = seed_for(1)
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed}})

    mnq = mnq_con_id(result)
    expected = round_half_away(DUMMY_EXPOSURE / (result["prices"][str(mnq)] * 2))
    assert result["prices"][str(mnq)] == pytest.approx(MNQ_PRICE, rel=1e-3)
    assert expected == 2
    assert result["status"] == "done" and result["errors"] == {}
    assert result["strategies"]["dummy"]["signals"]["details"]["seed"] == seed
    assert result["strategies"]["dummy"]["targetPositions"] == {str(mnq): expected}
    assert result["consolidatedTrades"] == [{"conId": mnq, "quantity": expected, "source": {"dummy": expected},
                                             "localSymbol": "MNQZ6", "action": "BUY",
                                             "notionalInBase": pytest.approx(expected * 2 * MNQ_PRICE, rel=1e-3),
                                             "refused": None}]
    [order] = result["orders"]
    assert order["status"] in ("PreSubmitted", "Submitted", "Filled")
    assert order["action"] == "BUY" and order["quantity"] == expected and order["permId"] > 0

    t.wait_filled({mnq: expected})
    [broker_order] = t.broker_orders()
    assert broker_order["request"]["algo_strategy"] == "Adaptive"
    assert broker_order["request"]["tif"] == "DAY"
    assert broker_order["request"]["order_ref"] == order["orderRef"]

    status, reconciled = t.post("trade-reconciliation")
    assert status == 200, reconciled
    assert t.holdings("dummy") == {mnq: expected}
    assert t.open_order_records() == []

    [activity] = t.activity("allocation")
    assert activity["status"] == "done"
    assert activity["parameters"]["strategies"] == ["dummy"]
    assert activity["result"]["consolidatedTrades"][0]["quantity"] == expected
    assert activity["result"]["orders"][0]["permId"] == order["permId"]
    assert activity["result"]["strategies"]["dummy"]["signals"]["weights"] == {str(mnq): 1}
    sod = t.store.get("status/paper")
    assert sod["date"] == "2026-11-24" and sod["startOfDayNetLiquidation"] == NET_LIQUIDATION


@pytest.mark.parametrize("direction, spy_sign, vixy_sign", [("bullish", 1, 0), ("bearish", -1, 1)])
def test_spymacdvixy_trades_a_crossover_on_the_last_bar(trading, direction, spy_sign, vixy_sign):
    t = trading()
    pinned = t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes(direction)})
    result = t.allocate(strategies=["spymacdvixy"])

    plan = result["strategies"]["spymacdvixy"]
    assert plan["signals"]["details"]["crossover"] == direction
    spy_price, vixy_price = result["prices"][str(SPY)], result["prices"][str(VIXY)]
    assert spy_price == pytest.approx(pinned["price"], abs=0.05)
    # weights adding up to more than 1 in absolute value share the strategy's exposure (bearish: half each)
    gross = abs(spy_sign) + abs(vixy_sign)
    expected = {SPY: spy_sign * round_half_away(SPY_EXPOSURE / gross / spy_price),
                VIXY: vixy_sign * round_half_away(SPY_EXPOSURE / gross / vixy_price)}
    assert plan["weightScale"] == 1 / gross
    assert plan["targetPositions"] == {str(SPY): expected[SPY], str(VIXY): expected[VIXY]}
    placed = {o["conId"]: (o["action"], o["quantity"]) for o in result["orders"]}
    assert placed == {con_id: ("BUY" if q > 0 else "SELL", abs(q)) for con_id, q in expected.items() if q}
    t.wait_filled({con_id: q for con_id, q in expected.items() if q})


def test_spymacdvixy_without_a_crossover_places_nothing(trading):
    t = trading()
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": no_crossover_closes()})
    result = t.allocate(strategies=["spymacdvixy"])
    assert result["strategies"]["spymacdvixy"]["signals"]["hold"] is True
    assert result["consolidatedTrades"] == [] and result["orders"] == []
    assert t.broker_orders() == []


def test_a_failing_strategy_is_reported_and_the_others_go_on(trading):
    t = trading()
    config = t.store.get("config/paper")
    del config["exposure"]["strategies"]["spymacdvixy"]
    t.store.set("config/paper", config)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes()})
    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    assert "'exposure.strategies.spymacdvixy' is not set" in result["errors"]["spymacdvixy"]
    assert "dummy" not in result["errors"]
    assert [o["localSymbol"] for o in result["orders"]] == ["MNQZ6"]


def test_dry_run_computes_everything_and_places_nothing(trading):
    t = trading()
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(-1)}}, dryRun=True)
    assert result["status"] == "dryRun"
    [trade] = result["consolidatedTrades"]
    assert trade["action"] == "SELL" and trade["quantity"] < 0
    assert result["orders"] == []
    assert t.broker_orders() == [] and t.open_order_records() == []
    assert t.store.get("status/paper") is None


@BOTH_BACKENDS
def test_the_same_request_twice_inside_the_window_places_once(trading):
    t = trading()
    body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
    first = t.allocate(**body)
    assert len(first["orders"]) == 1
    second = t.allocate(**body)
    assert second["status"] == "duplicate"
    assert "nothing is placed again" in second["reason"]
    assert len(t.broker_orders()) == 1


@BOTH_BACKENDS
def test_identical_requests_at_the_same_moment_on_two_workers_place_once(trading):
    t = trading(workers=1)
    second = t.another_service(workers=1)
    body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
    services = [t.service, second] * 3
    start = threading.Barrier(len(services))

    def send(service):
        start.wait()
        return service.request("POST", "/allocation", body)

    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        answers = list(pool.map(send, services))
    assert one_done_the_rest_turned_away(answers), answers
    assert len(t.broker_orders()) == 1


@BOTH_BACKENDS
def test_different_requests_for_the_same_strategy_do_not_trade_it_twice(trading):
    t = trading(workers=2, threads=4)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/latency", {"ms": 300})    # each run takes over a second
    bodies = [{"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}},
              {"strategies": ["spymacdvixy", "dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}]
    start = threading.Barrier(2)

    def send(body):
        start.wait()
        return t.post("allocation", body)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(send, bodies))
    assert sorted(status for status, _ in answers) == [200, 409], answers
    [(_, refused)] = [answer for answer in answers if answer[0] == 409]
    assert "another run is trading the same strategies (dummy by run" in refused["error"]
    mnq_orders = [o for o in t.broker_orders() if o["contract"]["local_symbol"].startswith("MNQ")]
    assert len(mnq_orders) == 1
    assert t.store.query("runs/paper/strategyLocks") == []


@BOTH_BACKENDS
def test_a_run_that_placed_nothing_can_run_again(trading):
    t = trading()
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": no_crossover_closes()})
    assert t.allocate(strategies=["spymacdvixy"])["status"] == "nothing to trade"
    assert t.allocate(strategies=["spymacdvixy"])["status"] == "nothing to trade"


def test_a_run_that_places_nothing_says_why_per_strategy(trading):
    t = trading()
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": no_crossover_closes()})
    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(0)}})

    assert result["status"] == "nothing to trade" and result["orders"] == [] and result["errors"] == {}
    assert result["reasons"] == {"dummy": "weight 0: no position wanted, and none held",
                                 "spymacdvixy": "the strategy keeps its holdings: no MACD crossover on the last bar"}
    assert t.broker_orders() == []
    [activity] = t.activity("allocation")
    assert activity["status"] == "done" and activity["result"]["status"] == "nothing to trade"

    # the same target once it is held (another seed drawing weight 1, so not a duplicate of the run that bought it)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    mnq = mnq_con_id(t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}}))
    t.wait_filled({mnq: 2})
    assert t.post("trade-reconciliation")[0] == 200
    again = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1, after=seed_for(1))}})
    assert again["status"] == "nothing to trade"
    assert again["reasons"] == {"dummy": "the target positions equal the holdings (with the orders in flight)"}


def test_a_run_that_trades_answers_done_even_when_a_strategy_places_nothing(trading):
    t = trading()
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": no_crossover_closes()})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(1)}})

    assert result["status"] == "done" and "reasons" not in result
    [order] = result["orders"]
    assert order["source"] == {"dummy": 2}


@BOTH_BACKENDS
def test_a_rejected_order_is_reported_and_changes_no_holdings(trading):
    t = trading()
    t.simulator.admin("POST", "/reject-next", {"code": 201, "text": "Order rejected - reason:TEST REJECTION"})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    [order] = result["orders"]
    # IB answers a rejected order with error 201, then orderStatus Inactive
    assert order["status"] == "Inactive"
    assert order["errorCode"] == 201 and "TEST REJECTION" in order["error"]
    assert t.holdings("dummy") == {} and t.open_order_records() == []
    assert t.broker_positions() == {}


def test_an_order_above_max_notional_is_refused_and_others_proceed(trading):
    t = trading(config={"maxOrderNotional": 100_000})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    refused = {trade["localSymbol"]: trade["refused"] for trade in result["consolidatedTrades"]}
    assert "exceeds maxOrderNotional 100,000.00" in refused["SPY"]
    assert refused["MNQZ6"] is None
    assert [o["localSymbol"] for o in result["orders"]] == ["MNQZ6"]


@BOTH_BACKENDS
def test_two_strategies_on_one_contract_are_netted_into_one_order(trading, connect):
    t = trading()
    other = connect(t.simulator)
    from ib_async import MarketOrder, Stock

    [spy] = other.qualifyContracts(Stock("SPY", "SMART", "USD"))
    other.placeOrder(spy, MarketOrder("BUY", 5))
    t.wait_filled({SPY: 5})
    t.store.set("positions/paper/holdings/dummy", {str(SPY): 5})   # dummy no longer wants these 5 SPY
    t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": crossover_closes("bullish")})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})

    result = t.allocate(strategies=["dummy", "spymacdvixy"], strategyParams={"dummy": {"seed": seed_for(0)}})
    spy_target = result["strategies"]["spymacdvixy"]["targetPositions"][str(SPY)]
    [trade] = [trade for trade in result["consolidatedTrades"] if trade["conId"] == SPY]
    assert trade["source"] == {"dummy": -5, "spymacdvixy": spy_target}
    assert trade["quantity"] == spy_target - 5
    [order] = [o for o in result["orders"] if o["conId"] == SPY]
    assert order["quantity"] == spy_target - 5

    t.wait_filled({SPY: spy_target})
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {}
    assert t.holdings("spymacdvixy") == {SPY: spy_target}


def test_kill_switch_blocks_orders_but_not_a_dry_run(trading):
    t = trading(config={"tradingEnabled": False})
    status, body = t.post("allocation", {"strategies": ["dummy"]})
    assert status == 403 and "tradingEnabled=False" in body["error"]
    assert t.allocate(strategies=["dummy"], dryRun=True)["status"] == "dryRun"
    assert t.broker_orders() == []


@pytest.mark.parametrize("body, message", [
    ({}, "'strategies' is required"),
    ({"strategies": []}, "at least one strategy"),
    ({"strategies": ["nope"]}, "unknown strategy 'nope'"),
    ({"strategies": ["dummy"], "strategyParams": {"dummy": {"colour": 1}}}, "does not accept parameter(s) colour"),
    ({"strategies": ["dummy"], "orderProperties": {"goodAfterTime": "soon"}}, "goodAfterTime must look like"),
    ({"strategies": ["dummy"], "orderProperties": {"lmtPrice": 1}}, "does not accept parameter(s) lmtPrice"),
    ({"strategies": ["dummy"], "orderProperties": {"limitOffsetPercent": 80}},
     "'orderProperties.limitOffsetPercent' must be at most 50"),
])
def test_bad_allocation_requests_are_400(trading, body, message):
    t = trading()
    status, result = t.post("allocation", body)
    assert status == 400 and message in result["error"]


def test_good_after_time_reaches_the_broker_in_ib_form(trading):
    t = trading()
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                        orderProperties={"goodAfterTime": "today 15:55 America/New_York"})
    assert len(result["orders"]) == 1
    [broker_order] = t.broker_orders()
    assert broker_order["request"]["good_after_time"] == "20261124-20:55:00"


@BOTH_BACKENDS
def test_limit_orders_reach_the_broker_on_the_tick_and_are_reported(trading):
    t = trading()
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}},
                        orderProperties={"limitOffsetPercent": 0.5})
    mnq = mnq_con_id(result)
    # a marketable buy: at most 0.5% over the price, rounded down to MNQ's quarter-point tick
    limit = math.floor(round(result["prices"][str(mnq)] * 1.005 / 0.25, 9)) * 0.25
    [trade] = result["consolidatedTrades"]
    assert trade["limitPrice"] == limit
    [order] = result["orders"]
    assert order["orderType"] == "LMT" and order["limitPrice"] == limit
    t.wait_filled({mnq: 2})
    [broker_order] = t.broker_orders()
    assert broker_order["request"]["order_type"] == "LMT"
    assert broker_order["request"]["lmt_price"] == limit
    assert broker_order["request"]["algo_strategy"] == "Adaptive"
    status, body = t.post("trade-reconciliation")
    assert status == 200, body
    assert t.holdings("dummy") == {mnq: 2}


@BOTH_BACKENDS
def test_a_gateway_drop_during_allocation_is_503_without_phantom_holdings(trading):
    t = trading(workers=1)
    t.simulator.admin("POST", "/latency", {"ms": 1500})
    answer = {}
    worker = threading.Thread(target=lambda: answer.update(
        result=t.post("allocation", {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}})))
    worker.start()
    t.service.poll(lambda: t.activity("allocation") != [], 10, "the allocation to start")
    t.simulator.kill()
    worker.join(30)
    status, body = answer["result"]
    assert status == 503, body
    assert "GatewayUnavailable" in body["error"]
    [activity] = t.activity("allocation")
    assert activity["status"] == "failed"
    assert t.holdings("dummy") == {} and t.open_order_records() == []

    t.restart_simulator()
    t.simulator.admin("POST", "/latency", {"ms": 0})
    retry = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    assert retry["status"] == "done" and len(retry["orders"]) == 1


def test_a_holiday_skips_order_placement_unless_forced(trading):
    thanksgiving = "2026-11-26T16:00:00+00:00"
    t = trading(simulator_options={"now": thanksgiving})
    body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
    result = t.allocate(**body)
    assert result["status"] == "market closed"
    assert "XNYS has no session on Thursday 2026-11-26" in result["reason"]
    assert t.broker_orders() == []
    [activity] = t.activity("allocation")
    assert activity["result"]["status"] == "market closed"

    forced = t.allocate(**body, force=True)
    assert forced["status"] == "done" and len(forced["orders"]) == 1


def test_a_weekend_skips_order_placement(trading):
    t = trading(simulator_options={"now": "2026-11-28T15:00:00+00:00"})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    assert result["status"] == "market closed" and "Saturday" in result["reason"]
