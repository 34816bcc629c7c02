"""gunicorn's whole process group killed in the middle of a request, started again on the same store and gateway,
and the request retried as Cloud Scheduler retries it by its job in `deploy/scheduler-jobs`."""
from __future__ import annotations

import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from tests.support.scheduled_jobs import job, retry_delays
from tests.support.simulator_process import wait_until


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def killed_during(t, intent: str, body: dict, at, what: str, timeout_s: float = 20) -> datetime:
    """Post `body` to `intent`, SIGKILL gunicorn's process group once `at()` is true, and start it again; returns
    when the attempt died. The attempt gets no answer, which Cloud Scheduler counts as a failure to retry."""
    with ThreadPoolExecutor(1) as pool:
        attempt = pool.submit(t.post, intent, body)
        wait_until(at, timeout_s=timeout_s, what=what)
        t.service.kill()
        died_at = utc_now()
        assert attempt.exception(timeout=10) is not None, attempt.result()
    t.service.start()
    t.service.wait_ready()
    return died_at


def scheduler_retries(t, intent: str, body: dict, died_at: datetime) -> list[tuple[int, dict]]:
    """The job's retries of the attempt that died at `died_at`, until one is answered 200; returns every answer.

    What a retry is answered depends on whether it comes before the dead run's claim runs out (its budget and
    CLAIM_MARGIN_S: 409, the run may still send) or after (IB's lists settle the run), and not on how long after.
    So a retry due before that moment is sent at once, and one due after it as soon as the claim has run out,
    rather than minutes later at its due time (each is asserted to be inside the duplicate-run window, where its
    answer would still be the same).
    """
    claims = [doc.data for doc in t.store.query(f"runs/paper/{intent}")]
    run_until = max((datetime.fromisoformat(c["runUntil"]) for c in claims), default=died_at)
    window = timedelta(minutes=t.store.get("config/paper")["retryCheckMinutes"])
    due, answers = died_at, []
    for delay in retry_delays(job(intent)):
        due += timedelta(seconds=delay)
        assert all(due < datetime.fromisoformat(c["claimedAt"]) + window for c in claims), (due, claims)
        if due < run_until:
            assert utc_now() < run_until, f"the service restarted after the dead run's claim ran out ({run_until})"
        else:
            wait_until(lambda: utc_now() > run_until, timeout_s=(run_until - utc_now()).total_seconds() + 10,
                       what="the dead run's claim to run out")
        answers.append(t.post(intent, body))
        if answers[-1][0] == 200:
            return answers
    raise AssertionError(f"no retry of {intent} answered 200: {answers}")


def shares_traded(t) -> Counter:
    """The shares IB executed per conId, signed (corrections replace what they correct)."""
    traded = Counter()
    for execution in t.simulator.state()["executions"]:
        if not execution["superseded_by"]:
            traded[execution["con_id"]] += execution["shares"] * (1 if execution["side"] == "BOT" else -1)
    return traded


class StoreWriteLock:
    """The SQLite store's write lock held by the test, as a slow store would hold it: every write of the service
    waits (up to its busy timeout) while reads go on (WAL)."""

    def __init__(self, path: str):
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self._connection.execute("ROLLBACK")
        self._connection.close()
