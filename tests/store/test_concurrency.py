"""Transactions under contention, on the adapters that have real concurrency: SQLite (one file shared by threads
and processes) and Firestore (Google's emulator, which locks what a transaction reads and answers ABORTED).

Each test gets `shared`: a way to open more handles on one store, in this process or in another one, as two
gunicorn workers do.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from google.api_core import exceptions as google_exceptions

from lib.deadline import Deadline
from lib.store.errors import Contention, StoreError
from lib.store.sqlite import SqliteStore
from tests.support import REPO_ROOT

WAIT_S = 30.0
COUNTER = "counters/fills"

# Increments the counter from several threads of a separate process, the way two gunicorn workers share a store.
INCREMENT_SCRIPT = """
import sys, threading

backend, where, threads, increments = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if backend == "sqlite":
    from lib.store.sqlite import SqliteStore
    store = SqliteStore(where)
else:
    from google.cloud import firestore
    from lib.store.firestore import FirestoreStore
    store = FirestoreStore(firestore.Client(project=where), budget_s=120)
print("ready", flush=True)
sys.stdin.readline()  # "go": every process starts racing at once

def increment(tx):
    current = tx.get("counters/fills") or {"n": 0, "seen": []}
    tx.set("counters/fills", {"n": current["n"] + 1, "seen": current["seen"] + [current["n"]]})

def work():
    for _ in range(increments):
        store.run_transaction(increment)

workers = [threading.Thread(target=work) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
store.close()
"""


class Shared:
    """One store, opened as often as a test needs, in this process or in child processes."""

    def __init__(self, backend: str, where: str, opener):
        self.backend = backend
        self.where = where
        self._opener = opener

    def open(self, **options):
        return self._opener(**options)

    def child(self, threads: int, increments: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", INCREMENT_SCRIPT, self.backend, self.where, str(threads),
                                 str(increments)], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def shared(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        opened = []

        def open_sqlite(*, busy_timeout_s: float = 10.0, **_):
            store = SqliteStore(path, busy_timeout_s=busy_timeout_s)
            opened.append(store)
            return store

        yield Shared("sqlite", str(path), open_sqlite)
        for store in opened:
            store.close()
    else:
        open_firestore = request.getfixturevalue("open_firestore")
        project = request.getfixturevalue("firestore_project")

        def open_on_firestore(*, busy_timeout_s: float | None = None, **options):
            return open_firestore(**options)

        yield Shared("firestore", project, open_on_firestore)


def increment(tx):
    current = tx.get(COUNTER) or {"n": 0, "seen": []}
    tx.set(COUNTER, {"n": current["n"] + 1, "seen": current["seen"] + [current["n"]]})
    return current["n"]


def run_in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = target()
        except BaseException as exc:  # handed to the test thread, which asserts on it
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def hold_transaction_open(store, inside: threading.Event, release: threading.Event, value: int):
    """Start a transaction that reads COUNTER, then waits for `release` before writing `value` and committing."""
    def fn(tx):
        tx.get(COUNTER)
        inside.set()
        assert release.wait(WAIT_S)
        tx.set(COUNTER, {"n": value})

    return run_in_thread(lambda: store.run_transaction(fn))


def test_threads_racing_read_modify_write_lose_no_update(shared):
    # Google's emulator, with google-cloud-firestore's own retries (5 commits, none on reads): 2 or 3 of these
    # 4 threads died with "Failed to commit transaction in 5 attempts" (Transaction lock timeout).
    store = shared.open()
    threads, increments = 4, 10
    start = threading.Barrier(threads)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work():
        start.wait(WAIT_S)
        for _ in range(increments):
            try:
                seen = store.run_transaction(increment)
            except BaseException as exc:
                errors.append(exc)
                return
            with lock:
                results.append(seen)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT_S * 4)
    assert errors == []
    total = threads * increments
    counter = store.get(COUNTER)
    assert counter["n"] == total
    # Every transaction saw a different value: none read a state another one was about to overwrite.
    assert sorted(results) == list(range(total)) == sorted(counter["seen"])


def test_processes_racing_read_modify_write_lose_no_update(shared):
    processes, threads, increments = 2, 2, 3
    store = shared.open()
    store.set(COUNTER, {"n": 0, "seen": []})
    children = [shared.child(threads, increments) for _ in range(processes)]
    for child in children:
        assert child.stdout.readline() == "ready\n"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.close()
    for child in children:
        assert child.wait(timeout=180) == 0
        child.stdout.close()
    total = processes * threads * increments
    counter = store.get(COUNTER)
    assert counter["n"] == total
    assert sorted(counter["seen"]) == list(range(total))


def test_readers_are_not_blocked_by_an_open_transaction(shared):
    store = shared.open()
    store.set(COUNTER, {"n": 1})
    inside, release = threading.Event(), threading.Event()
    writer, outcome = hold_transaction_open(store, inside, release, value=2)
    assert inside.wait(WAIT_S)
    try:
        started = time.monotonic()
        assert store.get(COUNTER) == {"n": 1}
        assert [doc.data for doc in store.query("counters")] == [{"n": 1}]
        assert time.monotonic() - started < 1.0
    finally:
        release.set()
        writer.join(WAIT_S)
    assert "error" not in outcome
    assert store.get(COUNTER) == {"n": 2}


def test_a_plain_write_waits_for_the_open_transaction_then_lands_after_it(shared):
    # Firestore: the write waits for the transaction's lock; the emulator answers it ABORTED after a lock timeout
    # and the adapter writes again once the transaction has committed.
    store = shared.open()
    store.set(COUNTER, {"n": 1})
    inside, release = threading.Event(), threading.Event()
    holder, held = hold_transaction_open(store, inside, release, value=2)
    assert inside.wait(WAIT_S)
    try:
        waiter, waited = run_in_thread(lambda: store.update(COUNTER, {"late": True}))
        waiter.join(0.3)
        assert waiter.is_alive(), "the plain write should wait for the transaction's lock"
    finally:
        release.set()
    holder.join(WAIT_S)
    waiter.join(WAIT_S)
    assert "error" not in held and "error" not in waited
    assert store.get(COUNTER) == {"n": 2, "late": True}


def test_contention_past_the_deadline_is_a_contention_error_and_writes_nothing(shared):
    holder_store = shared.open()
    impatient = shared.open(busy_timeout_s=0.2, min_retry_window_s=0)
    holder_store.set(COUNTER, {"n": 1})
    inside, release = threading.Event(), threading.Event()
    holder, held = hold_transaction_open(holder_store, inside, release, value=2)
    assert inside.wait(WAIT_S)
    try:
        with Deadline(0.5).active(), pytest.raises(Contention) as raised:
            impatient.run_transaction(lambda tx: tx.set(COUNTER, {"n": 99, **(tx.get(COUNTER) or {})}))
    finally:
        release.set()
        holder.join(WAIT_S)
    assert isinstance(raised.value, StoreError) and raised.value.retry_after_s >= 1
    assert "error" not in held
    assert impatient.get(COUNTER) == {"n": 2}


@pytest.mark.firestore
def test_an_aborted_read_inside_a_transaction_runs_the_function_again(open_firestore, monkeypatch):
    # Firestore aborts a read of a transaction that an older one wounded; google-cloud-firestore does not retry it.
    from google.cloud.firestore_v1.transaction import Transaction as GoogleTransaction

    from lib.store import firestore as adapter

    pauses: list[float] = []
    store = open_firestore(sleep=pauses.append)
    store.set(COUNTER, {"n": 1, "seen": [0]})
    real_get = GoogleTransaction.get
    aborts = iter([True, True, False])

    def flaky_get(self, *args, **kwargs):
        if next(aborts, False):
            raise google_exceptions.Aborted("Aborted due to cross-transaction contention.")
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(GoogleTransaction, "get", flaky_get)
    calls = []

    def fn(tx):
        calls.append(1)
        return increment(tx)

    assert store.run_transaction(fn) == 1
    assert len(calls) == 3 and len(pauses) == 2
    assert pauses[0] <= adapter.BACKOFF_INITIAL_S and pauses[1] <= 2 * adapter.BACKOFF_INITIAL_S
    assert store.get(COUNTER)["n"] == 2


@pytest.mark.firestore
def test_aborted_commits_are_retried_with_jittered_exponential_pauses_until_the_deadline(open_firestore, monkeypatch):
    from google.cloud.firestore_v1.transaction import Transaction as GoogleTransaction

    from lib.store import firestore as adapter

    clock = [0.0]
    pauses: list[float] = []

    def sleep_on_the_fake_clock(seconds):
        pauses.append(seconds)
        clock[0] += seconds

    store = open_firestore(sleep=sleep_on_the_fake_clock, min_retry_window_s=0)
    real_commit = GoogleTransaction._commit

    def always_aborted(self):
        raise google_exceptions.Aborted("Transaction lock timeout.")

    monkeypatch.setattr(GoogleTransaction, "_commit", always_aborted)
    with Deadline(10, clock=lambda: clock[0]).active(), pytest.raises(Contention, match="still contended") as raised:
        store.run_transaction(lambda tx: tx.set(COUNTER, {"n": 1}))
    monkeypatch.setattr(GoogleTransaction, "_commit", real_commit)
    assert raised.value.retry_after_s >= 1
    caps = [min(adapter.BACKOFF_MAX_S, adapter.BACKOFF_INITIAL_S * 2 ** n) for n in range(len(pauses))]
    assert all(0 <= pause <= cap for pause, cap in zip(pauses, caps))
    # every pause fits in the deadline, and the one that would not is not taken
    assert 10 - adapter.BACKOFF_MAX_S <= sum(pauses) <= 10
    assert store.get(COUNTER) is None
