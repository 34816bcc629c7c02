"""Runs the service under gunicorn as a process of its own on a free loopback port, for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

from tests.support import REPO_ROOT, json_lines, stop_process
from tests.support.forked import ForkedProcess

STOP_TIMEOUT_S = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body=None, *, raw: bytes | None = None, timeout_s: float = 30,
         headers: dict | None = None) -> tuple[int, dict]:
    """One HTTP request (with extra `headers`); returns (status, decoded JSON body) for any status."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class WorkerConnection:
    """One keep-alive HTTP connection to gunicorn: every request on it is served by the worker that accepted it
    (gunicorn's gthread keeps a connection on its worker), so a test can send a request to a chosen worker.

    Args:
        port: gunicorn's port.
        timeout_s: per request.
    """

    def __init__(self, port: int, timeout_s: float = 30):
        self._connection = HTTPConnection("127.0.0.1", port, timeout=timeout_s)

    def request(self, method: str, path: str, body=None) -> tuple[int, dict]:
        self._connection.request(method, path, None if body is None else json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
        response = self._connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def pid(self) -> int:
        """The worker serving this connection (its /readyz says)."""
        return self.request("GET", "/readyz")[1]["pid"]

    def close(self) -> None:
        self._connection.close()


class ServiceProcess:
    """gunicorn serving main:app against a given IB port and SQLite file.

    Args:
        ib_port: the simulator's TWS port.
        store_path: SQLite file of the embedded store.
        log_path: where gunicorn's stdout/stderr go (read it when a test fails).
        workers, threads: gunicorn sizing.
        env: extra environment variables.
    """

    def __init__(self, *, ib_port: int, store_path: Path, log_path: Path, workers: int = 2, threads: int = 8,
                 env: dict | None = None):
        self.port = free_port()
        self.log_path = log_path
        self.workers = workers
        self._log_offset = 0
        self._env = {
            **os.environ,
            "TRADING_MODE": "paper",
            "IB_HOST": "127.0.0.1",
            "IB_PORT": str(ib_port),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "STORE_BACKEND": "sqlite",
            "STORE_PATH": str(store_path),
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "IB_CONNECT_TIMEOUT_S": "5",
            **(env or {}),
        }
        self._process: ForkedProcess | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, body=None, **kwargs) -> tuple[int, dict]:
        return http(method, self.url(path), body, **kwargs)

    def start(self, *, timeout_s: float = 30) -> "ServiceProcess":
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._process = ForkedProcess("gunicorn", ["-c", "gunicorn.conf.py", "main:app"], cwd=REPO_ROOT, env=self._env,
                                     log_path=self.log_path, new_session=True)
        self.poll(lambda: self.request("GET", "/healthz", timeout_s=2)[0] == 200, timeout_s, "gunicorn /healthz")
        return self

    def wait_ready(self, timeout_s: float = 30) -> None:
        """Wait until every worker has logged a ready gateway connection and /readyz answers 200.

        Each worker has its own connection, and which worker answers /readyz is up to the kernel (under load one
        worker can take every request for a long time), so readiness of all of them is read from the log.
        """
        def all_workers_ready():
            ready = {entry["pid"] for entry in self.log_entries() if entry.get("event") == "gatewayReady"}
            return len(ready) >= self.workers and self.request("GET", "/readyz", timeout_s=5)[0] == 200

        self.poll(all_workers_ready, timeout_s, f"all {self.workers} workers to connect to the gateway")

    def connections_to_each_worker(self, *, timeout_s: float = 10) -> dict[int, WorkerConnection]:
        """A keep-alive connection to each worker, by its pid (which worker accepts a connection is the kernel's
        choice, so connections are opened until every worker has one). Use them within gunicorn's keepalive (5 s),
        or the worker closes them; the caller closes them."""
        by_pid: dict[int, WorkerConnection] = {}

        def every_worker_reached():
            connection = WorkerConnection(self.port)
            pid = connection.pid()
            if pid in by_pid:
                connection.close()
            else:
                by_pid[pid] = connection
            return len(by_pid) == self.workers

        self.poll(every_worker_reached, timeout_s, f"a connection to each of the {self.workers} workers")
        return by_pid

    def readiness_of_each_worker(self, *, timeout_s: float = 10) -> dict[int, bool]:
        """Whether each worker is ready (its /readyz), by pid: asked on new connections until every worker has
        answered (which worker accepts a connection is the kernel's choice)."""
        ready: dict[int, bool] = {}

        def every_worker_answered():
            status, body = self.request("GET", "/readyz", timeout_s=5)
            ready[body["pid"]] = status == 200
            return len(ready) >= self.workers

        self.poll(every_worker_answered, timeout_s, f"an answer from each of the {self.workers} workers")
        return ready

    def reconnects(self) -> int:
        """How many times the worker answering /readyz has reconnected (meaningful with one worker)."""
        return self.request("GET", "/readyz", timeout_s=5)[1]["reconnects"]

    def wait_reconnected(self, reconnects_before: int, timeout_s: float = 30) -> None:
        """Wait until the worker is ready on a connection newer than the one counted in `reconnects_before`."""
        def reconnected():
            status, body = self.request("GET", "/readyz", timeout_s=5)
            return status == 200 and body["reconnects"] > reconnects_before

        self.poll(reconnected, timeout_s, "the worker to reconnect")

    def poll(self, condition, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self._process.returncode}:\n{self.log()}")
            try:
                if condition():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}:\n{self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_entries(self) -> list[dict]:
        """The JSON log lines written since this service started (a log file can hold earlier runs)."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return json_lines(log.read().decode(errors="replace"))

    def terminate(self, *, timeout_s: float = STOP_TIMEOUT_S) -> tuple[int, float]:
        """SIGTERM gunicorn's master; returns (exit code, seconds it took)."""
        assert self._process is not None
        started = time.monotonic()
        self._process.send_signal(signal.SIGTERM)
        code = self._process.wait(timeout=timeout_s)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL gunicorn's whole process group at once, master and workers, as when Cloud Run replaces the
        instance: nothing finishes, nothing is written on the way out."""
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM gunicorn's master (unless it has exited), SIGKILL after STOP_TIMEOUT_S."""
        if self._process is not None:
            stop_process(self._process, STOP_TIMEOUT_S)
