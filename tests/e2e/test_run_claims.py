"""Findings 5 and 7 end to end: every intent that can place orders claims its run, across workers and revisions, and
gives the claim back when nothing was sent."""
from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ib_async import Forex, MarketOrder

from tests.support.run_outcomes import one_done_the_rest_turned_away
from tests.support.allocation import MNQ_PRICE, mnq_con_id, seed_for
from tests.support.service_process import ServiceProcess
from tests.support.simulator_process import wait_until


def second_service(t, tmp_path, request, **env) -> ServiceProcess:
    """Another gunicorn (one worker) on the same store and gateway: certainly a different process."""
    service = ServiceProcess(ib_port=t.simulator.port, store_path=tmp_path / "store.sqlite3",
                             log_path=tmp_path / "second-service.log", workers=1,
                             env={"IB_CLIENT_ID_BASE": "50", **env})
    request.addfinalizer(service.stop)
    service.start()
    service.wait_ready()
    return service


def at_once(services, path: str, body: dict) -> list[tuple[int, dict]]:
    start = threading.Barrier(len(services))

    def send(service):
        start.wait()
        return service.request("POST", path, body)

    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        return list(pool.map(send, services))


def cash(t) -> dict[str, float]:
    return {currency: round(amount, 2) for currency, amount in t.simulator.state()["cash"].items()}


def test_cash_balancer_twice_at_the_same_moment_converts_once(trading, connect, tmp_path, request):
    t = trading(workers=1, config={"cashBalanceThresholdInBaseCurrency": 1000})
    second = second_service(t, tmp_path, request)
    person = connect(t.simulator)
    [eur_usd] = person.qualifyContracts(Forex("EURUSD", exchange="FXCONV"))
    trade = person.placeOrder(eur_usd, MarketOrder("BUY", 50_000))
    wait_until(lambda: trade.isDone(), timeout_s=10, what="the EUR purchase", pump=person.sleep)

    answers = at_once([t.service, second], "/cash-balancer", {})
    assert one_done_the_rest_turned_away(answers), answers
    wait_until(lambda: cash(t)["EUR"] == 0, timeout_s=10, what="the EUR balance to be converted")
    conversions = [o for o in t.broker_orders() if o["contract"]["sec_type"] == "CASH"
                   and o["request"]["action"] == "SELL"]
    assert len(conversions) == 1


def test_cash_balancer_reads_balances_as_they_are_now(trading, connect):
    """IB pushes account values about every three minutes; a balance bought a moment ago is not among them yet."""
    t = trading(workers=1, config={"cashBalanceThresholdInBaseCurrency": 1000},
                simulator_options={"account_update_s": 180})
    person = connect(t.simulator)
    [eur_usd] = person.qualifyContracts(Forex("EURUSD", exchange="FXCONV"))
    trade = person.placeOrder(eur_usd, MarketOrder("BUY", 20_500))
    wait_until(lambda: trade.isDone(), timeout_s=10, what="the EUR purchase", pump=person.sleep)
    status, dry = t.post("cash-balancer", {"dryRun": True})
    assert status == 200, dry
    assert dry["balances"]["EUR"] == 20_500
    assert [(c["pair"], c["action"], c["quantity"]) for c in dry["conversions"]] == [("EUR.USD", "SELL", 20_000)]


def test_close_all_twice_at_the_same_moment_closes_once(trading, tmp_path, request):
    t = trading(workers=1)
    second = second_service(t, tmp_path, request)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    mnq = mnq_con_id(result)
    t.wait_filled({mnq: 2})

    answers = at_once([t.service, second], "/close-all", {})
    assert one_done_the_rest_turned_away(answers), answers
    t.wait_filled({})
    sells = [o for o in t.broker_orders() if o["request"]["action"] == "SELL"]
    assert len(sells) == 1
    assert t.post("trade-reconciliation")[0] == 200
    assert t.holdings("dummy") == {}


def test_eod_check_that_flattens_is_claimed_too(trading, tmp_path, request):
    t = trading(workers=1, config={"enforceFlatEod": True})
    second = second_service(t, tmp_path, request)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    result = t.allocate(strategies=["dummy"], strategyParams={"dummy": {"seed": seed_for(1)}})
    t.wait_filled({mnq_con_id(result): 2})

    t.step_into_eod_window()
    answers = at_once([t.service, second], "/eod-check", {})
    assert one_done_the_rest_turned_away(answers), answers
    t.wait_filled({})
    assert len([o for o in t.broker_orders() if o["request"]["action"] == "SELL"]) == 1


def test_a_retry_that_lands_on_a_new_revision_is_still_a_duplicate(trading, tmp_path, request):
    t = trading(workers=1, env={"K_REVISION": "trading-00041-abc"})
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}}
    first = t.allocate(**body)
    assert len(first["orders"]) == 1
    t.service.stop()
    redeployed = second_service(t, tmp_path, request, K_REVISION="trading-00042-def")
    status, retry = redeployed.request("POST", "/allocation", body)
    assert status == 200 and retry["status"] == "duplicate", retry
    assert len(t.broker_orders()) == 1
    revisions = [a["serviceRevision"] for a in t.activity("allocation")]
    assert revisions == ["trading-00041-abc", "trading-00042-def"]


def test_a_run_whose_time_ran_out_before_sending_gives_its_claim_and_records_back(trading, tmp_path):
    """The store is busy (another writer holds it) while the run prices its orders, until its time budget is
    over: the orders are recorded late and never sent. The retry must run, not be refused as a duplicate."""
    t = trading(workers=1)
    t.simulator.admin("POST", "/price", {"symbol": "MNQ", "price": MNQ_PRICE})
    t.simulator.admin("POST", "/latency", {"ms": 400})
    body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": seed_for(1)}}, "timeoutSeconds": 5}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(t.post, "allocation", body)
        # the start of day is written after the first broker reads; the prices are read after it
        wait_until(lambda: t.store.get("status/paper") is not None, timeout_s=5, what="the first broker reads")
        writer = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        wait_until(lambda: time.monotonic() > started + 6, timeout_s=10, what="the run's time budget to pass")
        writer.execute("ROLLBACK")
        writer.close()
        status, failed = answer.result(timeout=30)
    assert status == 504, failed
    assert t.broker_orders() == []
    assert t.open_order_records() == []
    t.simulator.admin("POST", "/latency", {"ms": 0})
    retry = t.allocate(**{k: v for k, v in body.items() if k != "timeoutSeconds"})
    assert retry["status"] == "done" and len(retry["orders"]) == 1
