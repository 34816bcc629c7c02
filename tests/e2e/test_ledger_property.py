"""Property: whatever sequence of allocations (identical ones at the same moment on two workers included), partial
fills, held orders, close-alls, IB's faults (the simulator's catalogue: order warnings, rejections after submit,
connectivity loss, and any order fault it adds), gateway restarts and day boundaries came before, after every
reconciliation

- the ledger's holdings add up to the broker's positions, per contract;
- no order of the person trading the same account with another clientId was cancelled or changed;
- no run that answered `duplicate` placed an order, and of identical runs at the same moment at most one placed
  any;
- no strategy's position crossed zero unless its target did (positions adopted from the person excepted);

and after every close-all that answered done, the account's position in a contract it closed did not cross zero
because of it, and no order of the service for the strategies it closed is working at IB unless the answer lists
it in `leftWorking`. Steps include the person's trades in a contract a strategy holds (adopted by the operator at
the next reconciliation, until which no run may trade the contract), a person's GTC order entered at a random
moment of a close-all (the gateway slowed, as when a global cancel reached such an order), a gunicorn worker
SIGKILLed before its run sends anything, while IB answers what it sent, or after its answer (the master starts
another; Cloud Scheduler's retries of the request follow, the later ones once the dead run's claim has run out),
fills after the last scheduled job of the day and the day boundary (the trade-reconciliation jobs of
`deploy/scheduler-jobs` fired at their times; the first day is NYSE's early close of 2026-11-27, where eod-check with
`enforceFlatEod` flattens before the calendar's 13:00 close, its closing orders filled before it), and records that
lost their permId (an order IB works without a word about it).

On SQLite and, with fewer examples (each store round trip is slower there), on Firestore (Google's emulator), in
test_ledger_property_firestore.py: a file of its own, which a parallel run takes up beside this one.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time as clock
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from ib_async import LimitOrder, MarketOrder, Stock

from lib.trading.market_calendar import DEFAULT_CALENDAR, is_trading_day, session_close, trading_date
from strategies.dummy import WEIGHTS
from tests.support.macd_series import crossover_closes, no_crossover_closes
from tests.support.scheduled_jobs import day_of_firings, job
from tests.support.simulator_process import wait_until

# examples per backend: the steps are the same, Firestore's emulator makes each store round trip slower
EXAMPLES = {"sqlite": 14, "firestore": 5}
# what a step does, each as often as it is listed (a worker's death costs seconds, and the strategies it was
# trading stay locked until its run's budget has run out)
ACTIONS = (["allocate"] * 6 + ["allocate twice at once"] * 6 + ["close-all"] * 4 + ["release"] * 4
           + ["reconcile"] * 8 + ["IB misbehaves"] * 6 + ["person"] * 4 + ["worker dies"])
# what IB does when it misbehaves, each as often as it is listed (a process restart costs seconds)
IB_EVENTS = ["fault"] * 5 + ["restart", "day boundary", "permId lost"]
# the steps each backend's examples must have taken (the fewer Firestore examples cover the trading path)
COVERED = {"sqlite": {"allocate", "allocate twice at once", "reconcile", "close-all", "restart", "day boundary",
                      "person's order", "person's trade", "person's trade in a held contract", "permId lost",
                      "person's order during a close-all", "worker dies", "eod-check flattened before an early close"},
           "firestore": {"allocate", "allocate twice at once", "reconcile"}}
SPY_HISTORY = {"bullish": crossover_closes("bullish"), "bearish": crossover_closes("bearish"),
               "none": no_crossover_closes()}
SEEDS = {w: [seed for seed in range(400) if random.Random(seed).choice(WEIGHTS) == w] for w in WEIGHTS}
# the faults the machine knows how to arm (parameters each); kinds the simulator's catalogue lacks are left out
# (silent-order and handshake-hang are left out: each costs a confirmation's or a connect's whole time budget)
ORDER_FAULTS = {"order-warning": [{"code": 10349}, {"code": 399}, {"code": 2109}], "order-reject": [{}],
                "cancel-race": [{}, {"fill_fraction": 1}], "execution-correction": [{}, {"quantity": 1}],
                "inactive-then-active": [{}], "commission-delay": [{"delay_s": 1}],
                "connectivity": [{"seconds": 1, "restore": "1102"}, {"seconds": 1, "restore": "1101"}],
                "restart": [{"seconds": 1, "when": "next-order"}, {"seconds": 1, "when": "now"}]}
NEW_YORK = ZoneInfo("America/New_York")
# the first day is NYSE's early close (13:00 New York; CME's equity futures halt at 13:15), the day the issue found
# the account left open over a long weekend; the next one, Christmas Eve, is after MNQZ6 rolls
EARLY_CLOSE_DAY = date(2026, 11, 27)
# a new trading day starts where the first one did, in both markets' sessions
MORNING = time(10, 30)
START = datetime.combine(EARLY_CLOSE_DAY, MORNING, NEW_YORK)
# trading days the clock may move on over the whole run (well before MNQZ6 rolls)
MAX_DAYS = 3
# when held orders wake after eod-check: after the stock market's close, while CME's MNQ still trades
AFTER_THE_CLOSE = timedelta(minutes=10)
# the budget of a run whose order IB never answers: its confirmation waits for all of it
SILENT_RUN_TIMEOUT_S = 5
# the strategy the operator adopts the person's trades into (reconcile's default)
ADOPTER = "manual"
# when a worker dies in a run: before it sends anything, while IB answers what it sent, or after its answer
DEATHS = ["before sending", "while IB answers", "after its answer"]
# the budget of a run whose worker dies (its claim then lasts this and CLAIM_MARGIN_S), and the gateway's latency
# meanwhile, so that the run is still reading, or IB's answers still on their way, when the worker is killed
DYING_RUN_TIMEOUT_S = 5
# the service's CLAIM_MARGIN_S: production's minute would make every death a minute of waiting for the retries;
# what a retry is answered depends on whether the dead run's claim has run out, not on how long it lasted
CLAIM_MARGIN_S = 10
DYING_RUN_LATENCY_MS = 150
# how many times Cloud Scheduler retries an allocation (the close-all retried the same way)
RETRY_COUNT = job("allocation")["retryConfig"]["retryCount"]
RECONCILIATION_TIMES = [firing.at.time() for firing in day_of_firings(date(2026, 11, 30))
                        if firing.intent == "trade-reconciliation"]


def ledger_totals(store) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for doc in store.query("positions/paper/holdings"):
        for con_id, quantity in doc.data.items():
            totals[int(con_id)] += quantity
    return {con_id: q for con_id, q in totals.items() if q}


def holdings(store) -> dict[tuple[str, int], int]:
    return {(doc.path.rsplit("/", 1)[-1], int(c)): q for doc in store.query("positions/paper/holdings")
            for c, q in doc.data.items()}


def sign(quantity: int) -> int:
    return (quantity > 0) - (quantity < 0)


def _connected(client, simulator) -> bool:
    try:
        client.connect(simulator.host, simulator.port, clientId=client.client.clientId, timeout=5)
    except (ConnectionError, OSError, TimeoutError):
        client.disconnect()
        return False
    return True


# the person's blocking requests give up after this (ib_async's IB.RequestTimeout)
PERSON_REQUEST_TIMEOUT_S = 30

class LedgerMachine(RuleBasedStateMachine):
    env = None          # set by the test: a Trading environment shared by every example
    person = None       # an ib_async client acting as a person at another terminal, with its own clientId
    fault_kinds: list[str] = []
    person_orders: dict[int, dict] = {}     # permId -> what the person's order must stay
    steps: Counter = Counter()
    # each (strategy, conId)'s holding at the last reconciliation, the sign of its last target, and the signs
    # targeted since the last reconciliation: the signs its position may take
    holdings_seen: dict[tuple[str, int], int] | None = None
    standing: dict[tuple[str, int], int] = {}
    targeted: dict[tuple[str, int], set[int]] = defaultdict(set)
    # conIds the person traded in while a strategy held them, not adopted yet, and the person's own contracts
    # (always the person's: an execution correction may change their trades after adoption)
    persons_trades: set[int] = set()
    persons_contracts: set[int] = set()
    # requests Cloud Scheduler retries after their worker died: (when the retry may settle the dead run, intent, body,
    # retries so far, the orderRefs of the runs that died); and the pids of the workers killed
    pending_retries: list[tuple[datetime, str, dict, int, frozenset[str]]] = []
    dead_pids: set[int] = set()

    @initialize()
    def start(self):
        # examples share the account: what earlier examples targeted still holds for the orders they left
        if LedgerMachine.holdings_seen is None:
            LedgerMachine.holdings_seen = holdings(self.env.store)

    # --- the service -----------------------------------------------------------------------------------

    @rule(action=st.sampled_from(ACTIONS), data=st.data())
    def step(self, action, data):
        """One step, drawn with the weights of ACTIONS (rules of their own would be drawn unevenly: hypothesis
        leaves some of them out of whole examples)."""
        self.retry_what_is_due()
        if action in ("allocate", "allocate twice at once"):
            self.allocate(data.draw(st.sampled_from(WEIGHTS), "weight"), data.draw(st.integers(0, 40), "seed index"),
                          data.draw(st.sampled_from(sorted(SPY_HISTORY)), "SPY history"),
                          data.draw(st.integers(1, 3), "pieces"), data.draw(st.booleans(), "held"),
                          at_once=action == "allocate twice at once")
        elif action == "close-all":
            self.close_all(data.draw(st.booleans(), "only dummy"), data)
        elif action == "worker dies":
            self.worker_dies(data.draw(st.sampled_from(["allocation", "close-all"]), "intent"),
                             data.draw(st.sampled_from(DEATHS), "when"), data.draw(st.integers(0, 1), "worker"), data)
        elif action == "release":
            self.release_held_orders()
        elif action == "IB misbehaves":
            self.ib_misbehaves(data.draw(st.sampled_from(IB_EVENTS), "event"), data)
        elif action == "person":
            self.person_acts(data.draw(st.sampled_from(["order", "trade", "trade in a held contract"]), "does"),
                             data.draw(st.sampled_from(["AAPL", "MSFT"])), data.draw(st.sampled_from(["BUY", "SELL"])))
        else:
            self.reconcile()

    def allocate(self, weight, seed_index, spy, pieces, held, at_once):
        self.steps["allocate twice at once" if at_once else "allocate"] += 1
        t = self.env
        t.simulator.admin("POST", "/history", {"symbol": "SPY", "closes": SPY_HISTORY[spy]})
        t.simulator.admin("POST", "/partial-fills", {"pieces": pieces})
        body = {"strategies": ["dummy", "spymacdvixy"],
                "strategyParams": {"dummy": {"seed": SEEDS[weight][seed_index]}}, "force": True}
        if held:
            now = datetime.fromisoformat(t.simulator.state()["clock"]["now"])
            body["orderProperties"] = {"goodAfterTime": (now + timedelta(seconds=60)).strftime("%Y%m%d-%H:%M:%S")}
        answers = self._at_once(body) if at_once else [t.post("allocation", body)]
        done = [result for status, result in answers if self._allocation_answered(status, result)]
        if at_once:
            # a run that placed nothing gives its claim back, so the other may run after it; only one may place
            assert len([result for result in done if result["orders"]]) <= 1, answers

    def _allocation_answered(self, status: int, result: dict) -> bool:
        """Check an allocation's answer and note the targets of a run that was done (True then)."""
        # 503 while IB's connectivity is lost; 409 while another run trades the same strategies; 500 when no
        # strategy could be planned (market data lost with connectivity)
        assert status in (200, 409, 503) or (status == 500 and result["error"].startswith(
            "EveryStrategyFailed")), result
        if status != 200:
            return False
        # "nothing to trade" is a run done with no order to send: its targets count like those of any done run
        assert result["status"] in ("done", "nothing to trade", "duplicate"), result
        if result["status"] == "duplicate":
            return False
        for strategy, plan in result["strategies"].items():
            for con_id, target in (plan["targetPositions"] or {}).items():
                self._target((strategy, int(con_id)), sign(target))
        return True

    def _target(self, key: tuple[str, int], target_sign: int) -> None:
        LedgerMachine.standing[key] = target_sign
        LedgerMachine.targeted[key].add(target_sign)

    def _at_once(self, body: dict) -> list[tuple[int, dict]]:
        start = threading.Barrier(2)

        def send(_):
            start.wait()
            return self.env.post("allocation", body)

        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(send, range(2)))

    def close_all(self, only_dummy, data):
        self.steps["close-all"] += 1
        body = {"strategies": ["dummy"], "force": True} if only_dummy else {"force": True}
        person_after_s = data.draw(st.sampled_from([None, None, None, 0.0, 0.2, 0.5]), "the person's order after (s)")
        if person_after_s is None:
            self._close_all(body)
            return
        latency_ms = data.draw(st.sampled_from([0, 200]), "gateway latency (ms)")
        person = (data.draw(st.sampled_from(["AAPL", "MSFT"])), data.draw(st.sampled_from(["BUY", "SELL"])))
        self._close_all(body, send=lambda b: self._while_the_person_places_an_order(
            lambda: self.env.post("close-all", b), person_after_s, latency_ms, person))

    def _close_all(self, body: dict, send=None) -> tuple[int | None, dict | None]:
        """A close-all sent by `send(body)` (a plain POST by default; it answers (None, None) when the worker died
        before answering), checked against the broker before and after it."""
        t = self.env
        self._settle_fills()
        before = t.broker_positions()
        chosen = body.get("strategies")
        reachable = {(r["clientId"], r["orderId"]) for r in t.open_order_records()
                     if chosen is None or set(r["source"]) & set(chosen)}
        status, result = (send or (lambda b: t.post("close-all", b)))(body)
        if status is None:
            return status, result
        assert status in (200, 409, 503), result
        if status == 200 and result["status"] == "done":
            for trade in result["closingTrades"]:
                if trade["refused"] is None:
                    for strategy in trade["source"]:
                        self._target((strategy, trade["conId"]), 0)
            working = {(o["client_id"], o["order_id"]) for o in t.simulator.state()["open_orders"]}
            reported = {(o["clientId"], o["orderId"]) for o in result["leftWorking"]}
            # every order of the closed strategies cancelled, whichever worker placed it, or reported
            assert not (reachable & working) - reported, (reachable & working, result)
            self._settle_fills()
            after = t.broker_positions()
            for order in result["orders"]:
                was, now = before.get(order["conId"], 0), after.get(order["conId"], 0)
                # the account's position never crosses zero because of a closing order
                assert sign(now) in (0, sign(was)), (order, was, now, result)
        return status, result

    def _while_the_person_places_an_order(self, request, after_s: float, latency_ms: float,
                                          person: tuple[str, str]) -> tuple[int, dict]:
        """`request()` with the person entering a GTC order `after_s` into it, the gateway `latency_ms` slow: an
        order entered between IB's list of open orders and a global cancel would be cancelled with the service's."""
        self.steps["person's order during a close-all"] += 1
        t = self.env
        self._wait_ready()
        t.simulator.admin("POST", "/latency", {"ms": latency_ms})
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                running = pool.submit(request)
                # the moment drawn for the person, not a wait for anything
                clock.sleep(after_s)
                self._as_the_person(lambda: self.person_holds_a_gtc_order(*person))
                return running.result(timeout=60)
        finally:
            t.simulator.admin("POST", "/latency", {"ms": 0})

    def release_held_orders(self):
        self.steps["release"] += 1
        self.env.simulator.admin("POST", "/clock/step", {"seconds": 120})

    # --- the service's workers ----------------------------------------------------------------------------

    def worker_dies(self, intent, when, worker, data):
        """The gunicorn worker serving a run is SIGKILLed (as by an out-of-memory kill) `when` drawn; the master
        starts another, which takes back a free clientId of the pool and with it the orders placed under it. Cloud
        Scheduler retries a request that got no answer."""
        self.steps["worker dies"] += 1
        self.steps[f"worker dies {when}"] += 1
        t = self.env
        body = {"strategies": ["dummy"], "force": True, "timeoutSeconds": DYING_RUN_TIMEOUT_S}
        if intent == "allocation":
            weight, seed_index = data.draw(st.sampled_from(WEIGHTS), "weight"), data.draw(st.integers(0, 40), "seed")
            body["strategyParams"] = {"dummy": {"seed": SEEDS[weight][seed_index]}}
        self._settle_fills()
        runs_before = self._runs(intent)
        send = partial(self._killing_its_worker, intent, when=when, worker=worker)
        status, _ = self._close_all(body, send) if intent == "close-all" else self._allocation(body, send)
        t.service.poll(lambda: len(self._live_ready_pids()) >= t.service.workers, 30, "gunicorn to start a worker")
        self._wait_ready()
        if status is None:
            dead = frozenset(f"{intent}-{run}" for run, doc in self._runs(intent).items()
                             if run not in runs_before and doc["status"] == "running")
            self._retry(intent, body, 1, dead)

    def _killing_its_worker(self, intent: str, body: dict, when: str, worker: int) -> tuple[int | None, dict | None]:
        """Send `body` to one worker and SIGKILL it `when` drawn; its answer, or (None, None) when it died first."""
        t = self.env
        runs_before = len(self._runs(intent))
        sent_before = self._orders_and_cancels_sent()
        connections = t.service.connections_to_each_worker()
        pid = sorted(connections)[worker]
        if when != "after its answer":
            t.simulator.admin("POST", "/latency", {"ms": DYING_RUN_LATENCY_MS})
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                attempt = pool.submit(connections[pid].request, "POST", f"/{intent}", body)
                if when == "before sending":
                    wait_until(lambda: attempt.done() or len(self._runs(intent)) > runs_before, timeout_s=30,
                               what="the run")
                elif when == "while IB answers":
                    wait_until(lambda: attempt.done() or self._orders_and_cancels_sent() > sent_before,
                               timeout_s=30, what="the run's orders or cancels")
                else:
                    attempt.result(timeout=60)
                os.kill(pid, signal.SIGKILL)
                LedgerMachine.dead_pids.add(pid)
                wait_until(attempt.done, timeout_s=30, what="the attempt to end")
        finally:
            t.simulator.admin("POST", "/latency", {"ms": 0})
            for connection in connections.values():
                connection.close()
        return attempt.result() if attempt.exception() is None else (None, None)

    def _locked_by_the_dead(self) -> bool:
        now = datetime.now(timezone.utc)
        return any(datetime.fromisoformat(doc.data["expiresAt"]) > now
                   for doc in self.env.store.query("runs/paper/strategyLocks"))

    def _runs(self, intent: str) -> dict[str, dict]:
        """The activity documents of `intent`'s runs, by activity id."""
        return {doc.path.rsplit("/", 1)[-1]: doc.data
                for doc in self.env.store.query("activity", where=[("intent", "==", intent)])}

    def _orders_and_cancels_sent(self) -> int:
        return sum(session["requests"].get(message, 0) for session in self.env.simulator.state()["sessions"]
                   for message in ("PlaceOrder", "CancelOrder"))

    def _live_ready_pids(self) -> set[int]:
        return {e["pid"] for e in self.env.service.log_entries()
                if e.get("event") == "gatewayReady"} - LedgerMachine.dead_pids

    def _allocation(self, body: dict, send=None) -> tuple[int | None, dict | None]:
        status, result = (send or (lambda b: self.env.post("allocation", b)))(body)
        if status is not None:
            self._allocation_answered(status, result)
        return status, result

    def _retry(self, intent: str, body: dict, retry: int, dead: frozenset[str]) -> None:
        """Cloud Scheduler's retry number `retry` of a request whose runs with the orderRefs `dead` died: one that
        finds the dead run's claim (409) or the gateway away (503) is retried once the claim may have run out, until
        the scheduler's retries are used up. A retry that places orders does so only when none of the dead runs'
        orders reached IB: nothing trades twice."""
        status, result = self._close_all(body) if intent == "close-all" else self._allocation(body)
        if status in (409, 503):
            if retry < RETRY_COUNT:
                due = datetime.now(timezone.utc) + timedelta(seconds=DYING_RUN_TIMEOUT_S + CLAIM_MARGIN_S)
                # a retry that failed after sending is one more run whose orders may be at IB
                sent = frozenset(order["orderRef"] for order in result.get("orders", []))
                LedgerMachine.pending_retries.append((due, intent, body, retry + 1, dead | sent))
            return
        if retry > 1:
            self.steps["scheduler retry after the claim ran out"] += 1
        if status == 200 and result.get("orders"):
            at_ib = [o for o in self.env.broker_orders() if o["request"]["order_ref"] in dead]
            assert not at_ib, (result, at_ib)

    def retry_what_is_due(self, wait: bool = False) -> None:
        """Send the scheduler's retries that are due; with `wait`, every one waiting, once each (the later retries
        of one that fails again are left out: they would cost the dead run's budget and margin each)."""
        for pending in sorted(LedgerMachine.pending_retries, key=lambda retry: retry[0]):
            due, intent, body, retry, dead = pending
            if not wait and datetime.now(timezone.utc) < due:
                return
            wait_until(lambda: datetime.now(timezone.utc) >= due, timeout_s=DYING_RUN_TIMEOUT_S + CLAIM_MARGIN_S + 30,
                       what="the dead run's claim to run out")
            LedgerMachine.pending_retries.remove(pending)
            self._retry(intent, body, retry, dead)
        if wait:
            LedgerMachine.pending_retries = []

    # --- IB ---------------------------------------------------------------------------------------------

    def ib_misbehaves(self, event, data):
        """One of IB's misbehaviours: a fault of the simulator's catalogue armed for what comes next, a gateway
        restart, or the end of the trading day."""
        if event == "restart":
            self.restart_gateway()
        elif event == "day boundary":
            self.next_trading_day()
        elif event == "permId lost":
            self.allocate_without_a_word_from_ib(data)
        elif self.fault_kinds:
            kind = data.draw(st.sampled_from(self.fault_kinds))
            parameters = data.draw(st.sampled_from(ORDER_FAULTS[kind]))
            self.steps[f"fault {kind}"] += 1
            self.env.simulator.admin("POST", "/faults", {"kind": kind, **parameters})
            if kind == "restart" and parameters["when"] == "now":
                self._wait_ready()

    def restart_gateway(self):
        self.steps["restart"] += 1
        t = self.env
        ready_before = Counter(e["pid"] for e in t.service.log_entries()
                               if e.get("event") == "gatewayReady" and e["pid"] not in LedgerMachine.dead_pids)
        t.simulator.restart()
        t.service.poll(lambda: all(Counter(e["pid"] for e in t.service.log_entries()
                                           if e.get("event") == "gatewayReady")[pid] > count
                                   for pid, count in ready_before.items()), 30, "every worker to reconnect")
        self.person.disconnect()
        self._person()

    def next_trading_day(self):
        """The day ends: eod-check catches up before the close (flattening the account with `enforceFlatEod`), held
        orders wake and fill after it (MNQ trades until 17:00 New York), the trade-reconciliation jobs of
        `deploy/scheduler-jobs` run at their times, and the clock passes midnight (IB's executions and completed
        orders start over) to the next trading day's morning."""
        self.steps["day boundary"] += 1
        t = self.env
        self._settle_fills()
        # the day the issue found the account left open over a long weekend; on other days the holdings stay
        flat = self._now().astimezone(NEW_YORK).date() == EARLY_CLOSE_DAY
        t.store.set("config/paper", {"enforceFlatEod": flat}, merge=True)
        t.step_into_eod_window()
        status, report = t.post("eod-check")
        if flat and status == 409 and "another run is trading" in report["error"]:
            # closing needs the strategies' locks, which a run whose worker died holds until its budget has run
            # out: Cloud Scheduler's retry (a minute later, the simulator's clock still in the window) finds them free
            wait_until(lambda: not self._locked_by_the_dead(), timeout_s=DYING_RUN_TIMEOUT_S + CLAIM_MARGIN_S + 10,
                       what="the dead run's strategy locks to expire")
            status, report = t.post("eod-check")
        assert status == 200, report
        if report.get("closeAll"):
            self._flattened_before_the_close(report)
        # the clock is shared by every example; past MAX_DAYS the day ends without moving it on
        if self.steps["day boundary"] > MAX_DAYS:
            return
        today = self._now().astimezone(NEW_YORK).date()
        after_the_close = session_close(today) + AFTER_THE_CLOSE
        for at in sorted([after_the_close, *(datetime.combine(today, moment, NEW_YORK)
                                             for moment in RECONCILIATION_TIMES)]):
            if at <= self._now():
                continue
            self._step_to(at)
            self._settle_fills()
            if at != after_the_close:
                status, body = t.post("trade-reconciliation")
                # 500 only for the person's trades the operator has not adopted yet
                assert status == 200 or self._only_persons_trades(body), body
        later = today + timedelta(days=1)
        while not is_trading_day(later, DEFAULT_CALENDAR):
            later += timedelta(days=1)
        self._step_to(datetime.combine(later, MORNING, NEW_YORK))

    def _flattened_before_the_close(self, report: dict) -> None:
        """eod-check's close-all acted before the day's close, early or not, and its closing orders filled before
        it: none is left working into the next session."""
        t = self.env
        closing = report["closeAll"]
        for trade in closing["closingTrades"]:
            if trade["refused"] is None:
                for strategy in trade["source"]:
                    self._target((strategy, trade["conId"]), 0)
        self._settle_fills()
        now = self._now()
        close = session_close(trading_date(now))
        assert now < close, (now, close)
        if close.astimezone(NEW_YORK).time() < time(16):
            self.steps["eod-check flattened before an early close"] += 1
        perm_ids = {order["permId"] for order in closing["orders"]} - {0}
        state = t.simulator.state()
        assert not [o for o in state["open_orders"] if o["perm_id"] in perm_ids], state
        for execution in state["executions"]:
            if execution["perm_id"] in perm_ids:
                assert datetime.fromisoformat(execution["time"]) < close, (execution, close)

    def _now(self) -> datetime:
        return datetime.fromisoformat(self.env.simulator.state()["clock"]["now"])

    def _step_to(self, moment: datetime) -> None:
        self.env.simulator.admin("POST", "/clock/step", {"seconds": (moment - self._now()).total_seconds()})

    def allocate_without_a_word_from_ib(self, data):
        """IB works the run's next order without any callback (no openOrder, orderStatus or execDetails): its
        record never hears the permId, and learns it from the executions reconciliation reads."""
        self.steps["permId lost"] += 1
        t = self.env
        t.simulator.admin("POST", "/faults", {"kind": "silent-order"})
        weight, seed_index = data.draw(st.sampled_from(WEIGHTS), "weight"), data.draw(st.integers(0, 40), "seed index")
        body = {"strategies": ["dummy"], "strategyParams": {"dummy": {"seed": SEEDS[weight][seed_index]}}, "force": True,
                "timeoutSeconds": SILENT_RUN_TIMEOUT_S}
        status, result = t.post("allocation", body)
        assert status in (200, 409, 503), result
        if status == 200 and result["status"] in ("done", "nothing to trade"):
            for con_id, target in (result["strategies"]["dummy"]["targetPositions"] or {}).items():
                self._target(("dummy", int(con_id)), sign(target))
        # a run that placed nothing leaves the fault armed for someone else's order: disarm it
        if not (status == 200 and result.get("orders")):
            t.simulator.admin("DELETE", "/faults")

    # --- the person ---------------------------------------------------------------------------------------

    def person_acts(self, does, symbol, action):
        """The person at another terminal: a GTC order kept working, a trade the service adopts, or a trade in TWS
        that reduces what a strategy holds. Like a person at TWS, they act once IB is reachable again after a
        connectivity loss: a data request sent during one is never answered when IB restores it with 1101."""
        self._wait_ready()
        if does == "trade":
            self._as_the_person(self.person_trades_and_the_service_adopts_it)
        elif does == "trade in a held contract":
            self._as_the_person(self.person_trades_a_held_contract)
        else:
            self._as_the_person(lambda: self.person_holds_a_gtc_order(symbol, action))

    def _as_the_person(self, act) -> None:
        try:
            act()
        except ConnectionError:
            # a restart armed for the next order took the person's with it: it never reached IB
            self.person.disconnect()
            self._person()
            self._wait_ready()

    def _person(self):
        """The person's client, connected again if a gateway restart dropped it (as TWS reconnects)."""
        try:
            self.person.sleep(0.05)     # lets the client see a socket the gateway closed
        except ConnectionError:
            self.person.disconnect()
        if not self.person.isConnected():
            t = self.env
            wait_until(lambda: _connected(self.person, t.simulator), timeout_s=30, what="the person's reconnect")
        return self.person

    def person_holds_a_gtc_order(self, symbol, action):
        """A limit far from the market that never fills: a take-profit or protective stop kept in TWS."""
        self.steps["person's order"] += 1
        [contract] = self._person().qualifyContracts(Stock(symbol, "SMART", "USD"))
        price = 1.0 if action == "BUY" else 100_000.0
        trade = self.person.placeOrder(contract, LimitOrder(action, 5, price, tif="GTC"))
        wait_until(lambda: trade.order.permId, timeout_s=10, what="the person's order", pump=self.person.sleep)
        # an order fault armed for the service's next order may hit the person's instead
        if any(o["perm_id"] == trade.order.permId for o in self.env.simulator.state()["open_orders"]):
            self.person_orders[trade.order.permId] = {"quantity": 5.0, "lmt_price": price, "action": action}

    def person_trades_and_the_service_adopts_it(self):
        self.steps["person's trade"] += 1
        t = self.env
        [vti] = self._person().qualifyContracts(Stock("VTI", "SMART", "USD"))
        trade = self.person.placeOrder(vti, MarketOrder("BUY", 3))
        # filled, or rejected by an order fault armed for the service's next order
        wait_until(lambda: trade.order.permId and not any(o["perm_id"] == trade.order.permId
                                                          for o in t.simulator.state()["open_orders"]),
                   timeout_s=10, what="the person's trade", pump=self.person.sleep)
        self._wait_ready()
        wait_until(lambda: t.post("reconcile", {"adopt": True})[1].get("adopted", {}).get("VTI") == 3
                   or ledger_totals(t.store).get(vti.conId) == t.broker_positions().get(vti.conId),
                   timeout_s=20, what="the person's VTI to be adopted")
        # an execution correction armed for the service's next order may correct the person's trade later: the
        # operator adopts what IB then says too
        LedgerMachine.persons_contracts.add(vti.conId)

    def person_trades_a_held_contract(self):
        """A person flattens one unit of what the strategies hold in TWS (a manual order, not an API one): the ledger
        no longer matches IB there until the operator adopts the difference, and no run may trade it meanwhile."""
        t = self.env
        self._settle_fills()
        held = {c: q for c, q in t.broker_positions().items() if q and c in ledger_totals(t.store)}
        if not held:
            return
        self.steps["person's trade in a held contract"] += 1
        con_id = min(held)
        order = t.simulator.admin("POST", "/orders/manual", {"symbol": con_id, "quantity": 1,
                                                              "action": "SELL" if held[con_id] > 0 else "BUY"})
        # filled, or rejected by an order fault armed for the service's next order
        ended = wait_until(lambda: [o for o in t.simulator.state()["completed_orders"]
                                    if o["perm_id"] == order["perm_id"]], timeout_s=10, what="the person's trade")
        if ended[0]["filled"]:
            LedgerMachine.persons_trades.add(con_id)

    def _only_persons_trades(self, body: dict) -> bool:
        """Whether a trade-reconciliation's 500 is a difference in the person's trades not adopted yet only (as
        `reconcile` lists them by conId)."""
        persons = LedgerMachine.persons_trades | LedgerMachine.persons_contracts
        if not (body.get("error", "").startswith("LedgerMismatch") and persons):
            return False
        status, listed = self.env.post("reconcile")
        return status == 200 and {d["conId"] for d in listed["differences"].values()} <= persons

    def _adopt_persons_trades(self):
        """The operator's fix for the person's trades: `reconcile` with `adopt` gives them to `manual`."""
        t = self.env
        persons = LedgerMachine.persons_trades | LedgerMachine.persons_contracts
        wait_until(lambda: t.post("reconcile", {"adopt": True})[0] == 200
                   and all(ledger_totals(t.store).get(c, 0) == int(t.broker_positions().get(c, 0)) for c in persons),
                   timeout_s=20, what="the person's trades to be adopted")
        LedgerMachine.persons_trades = set()

    # --- the checks ---------------------------------------------------------------------------------------

    def reconcile(self):
        t = self.env
        self._settle_fills()
        status, body = t.post("trade-reconciliation")
        if status == 500 and self._only_persons_trades(body):
            self._adopt_persons_trades()
            status, body = t.post("trade-reconciliation")
        assert status == 200, body
        broker = {con_id: int(q) for con_id, q in t.broker_positions().items()}
        assert ledger_totals(t.store) == broker
        self._no_strategy_crossed_zero_without_its_target()
        self.steps["reconcile"] += 1

    def _settle_fills(self):
        """Every order that may fill now has filled (held ones wait, PreSubmitted, for the clock), and every worker
        is connected again."""
        t = self.env
        person = {self.person.client.clientId}
        wait_until(lambda: not [o for o in t.simulator.state()["open_orders"]
                                if o["status"] == "Submitted" and o["client_id"] not in person],
                   timeout_s=15, what="working orders to fill")
        self._wait_ready()

    def _wait_ready(self):
        """Every worker connected to IB, each one asked."""
        t = self.env
        wait_until(lambda: all(t.service.readiness_of_each_worker().values()), timeout_s=20,
                   what="the workers to be ready")

    def _no_strategy_crossed_zero_without_its_target(self):
        now = holdings(self.env.store)
        seen = LedgerMachine.holdings_seen
        for key in set(now) | set(seen):
            if key[0] == ADOPTER:
                continue        # the person's positions: no target, they go where the person trades them
            before, after = seen.get(key, 0), now.get(key, 0)
            if before and after and sign(before) != sign(after):
                assert sign(after) in LedgerMachine.targeted[key], (key, before, after, dict(LedgerMachine.targeted))
        LedgerMachine.holdings_seen = now
        LedgerMachine.targeted = defaultdict(set, {key: {s} for key, s in LedgerMachine.standing.items()})

    @invariant()
    def the_persons_orders_are_untouched(self):
        working = {o["perm_id"]: o for o in self.env.simulator.state()["open_orders"]}
        for perm_id, expected in self.person_orders.items():
            assert perm_id in working, f"the person's order {perm_id} was cancelled"
            order = working[perm_id]["request"]
            assert {"quantity": order["total_quantity"], "lmt_price": order["lmt_price"],
                    "action": order["action"]} == expected

    @invariant()
    def no_duplicate_run_placed_an_order(self):
        t = self.env
        refs = Counter(o["request"]["order_ref"] for o in t.broker_orders())
        for doc in t.store.query("activity", where=[("intent", "==", "allocation")]):
            if (doc.data.get("result") or {}).get("status") == "duplicate":
                assert not refs[f"allocation-{doc.path.rsplit('/', 1)[-1]}"], doc.data

    @invariant()
    def ledger_never_holds_more_orders_than_it_placed(self):
        for record in self.env.open_order_records():
            assert abs(record.get("filled", sum(record["allocated"].values()))) <= abs(record["quantity"])


@pytest.mark.slow(seconds=100)
@pytest.mark.timeout(600)
# exchange_calendars (the trading days the clock moves to) trips a pandas deprecation
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_the_ledger_matches_the_broker_after_every_reconciliation(trading, connect, store_backend):
    """On SQLite; test_ledger_property_firestore.py runs the same on Firestore."""
    run_the_machine(trading, connect, store_backend)


def run_the_machine(trading, connect, store_backend: str) -> None:
    """The state machine's examples on one service and simulator over `store_backend`, then the checks once more."""
    env = trading(workers=2, simulator_options={"fill_delay_ms": 3, "now": START},
                  env={"CLAIM_MARGIN_S": str(CLAIM_MARGIN_S)})
    catalogue = {kind["kind"] for kind in env.simulator.admin("GET", "/faults")["catalogue"]}
    LedgerMachine.env = env
    LedgerMachine.person = connect(env.simulator)
    # a request IB never answers fails the example instead of hanging the suite
    LedgerMachine.person.RequestTimeout = PERSON_REQUEST_TIMEOUT_S
    LedgerMachine.fault_kinds = sorted(catalogue & set(ORDER_FAULTS))
    LedgerMachine.person_orders, LedgerMachine.steps = {}, Counter()
    LedgerMachine.persons_trades, LedgerMachine.persons_contracts = set(), set()
    LedgerMachine.holdings_seen, LedgerMachine.standing, LedgerMachine.targeted = None, {}, defaultdict(set)
    LedgerMachine.pending_retries, LedgerMachine.dead_pids = [], set()
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=EXAMPLES[store_backend], stateful_step_count=15, deadline=None, derandomize=True,
        database=None,
        # the examples share one simulator and service: a failing one is reported as found, not shrunk
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
    # the scheduler's retries still due, with IB behaving, then the checks once more
    env.simulator.admin("DELETE", "/faults")
    last = LedgerMachine()
    last.retry_what_is_due(wait=True)
    last.reconcile()
    last.the_persons_orders_are_untouched()
    last.no_duplicate_run_placed_an_order()
    print(f"fault kinds drawn from: {LedgerMachine.fault_kinds}; steps run: {dict(LedgerMachine.steps)}")
    assert COVERED[store_backend] <= set(LedgerMachine.steps)
    assert any(step.startswith("fault ") for step in LedgerMachine.steps)
