"""Runs `python -m deploy.entrypoint` as the container would, with the simulator as the gateway and a stand-in display,
on free loopback ports, and inspects its process tree and its JSON log."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO_ROOT, json_lines, stop_process
from tests.support.clock import NOW
from tests.support.service_process import free_port, http

STOP_TIMEOUT_S = 15
# variables of the outer environment that would change what the entrypoint does
SCRUBBED = ("IB_USERNAME", "IB_PASSWORD", "IB_CREDENTIALS_SECRET", "SECRET_MANAGER_EMULATOR_HOST", "GATEWAY_CMD",
            "XVFB_CMD", "DISPLAY", "IB_GATEWAY_VERSION", "TRADING_MODE", "IB_PORT")


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (tells a live process from a reused pid), None when it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


class EntrypointProcess:
    """The entrypoint with its whole tree.

    Args:
        tmp_path: where its store, config.ini, display socket and log go.
        env: extra environment (credentials, timings).
        ignore_sigterm_display: the stand-in display ignores SIGTERM.
    """

    def __init__(self, tmp_path: Path, *, env: dict | None = None, ignore_sigterm_display: bool = False):
        self.tmp_path = tmp_path
        self.ib_port = free_port()
        self.port = free_port()
        self.log_path = tmp_path / "entrypoint.log"
        self.ibc_ini = tmp_path / "ibc" / "config.ini"
        socket_dir = tmp_path / "x11"
        display = [sys.executable, "-m", "tests.deploy.stand_in_display", str(socket_dir / "X99")]
        if ignore_sigterm_display:
            display.append("--ignore-sigterm")
        base = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
        self._env = {
            **base,
            "TRADING_MODE": "paper", "IB_PORT": str(self.ib_port), "HOST": "127.0.0.1", "PORT": str(self.port),
            "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4", "STORE_BACKEND": "sqlite",
            "STORE_PATH": str(tmp_path / "store.sqlite3"), "IB_CONNECT_TIMEOUT_S": "5",
            "GATEWAY_CMD": f"{sys.executable} -m simulator --host 127.0.0.1 --port $IB_PORT --seed 7 "
                           f"--now {NOW.isoformat()} --fill-delay-ms 2",
            "XVFB_CMD": " ".join(display), "DISPLAY": ":99", "X11_SOCKET_DIR": str(socket_dir),
            "IBC_INI": str(self.ibc_ini), "GATEWAY_READY_TIMEOUT_S": "30", "GATEWAY_RESTART_BACKOFF_S": "0.2",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "EntrypointProcess":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "deploy.entrypoint"], cwd=REPO_ROOT, env=self._env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, body=None) -> tuple[int, dict]:
        return http(method, self.url(path), body, timeout_s=10)

    def log_entries(self) -> list[dict]:
        return json_lines(self.log_path.read_text(errors="replace"))

    def events(self, name: str) -> list[dict]:
        return [entry for entry in self.log_entries() if entry.get("event") == name]

    def poll(self, condition, timeout_s: float, what: str):
        """Poll `condition` (errors count as not yet) until it returns something truthy; fails on a dead entrypoint."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the entrypoint exited with {self.process.returncode}:\n{self.tail()}")
            try:
                result = condition()
            except OSError:
                result = None
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}:\n{self.tail()}")

    def wait_ready(self, *, ready_events: int = 1, timeout_s: float = 60) -> None:
        """Wait until the worker logged `ready_events` gateway connections in all and /readyz answers 200."""
        self.poll(lambda: len(self.events("gatewayReady")) >= ready_events
                  and self.request("GET", "/readyz")[0] == 200, timeout_s, "the service to be ready")

    def tree(self) -> dict[int, str]:
        """The entrypoint and its descendants, with their start times."""
        pids = {self.process.pid} | descendants(self.process.pid)
        return {pid: stamp for pid in pids if (stamp := start_time(pid)) is not None}

    def terminate(self) -> tuple[int, float]:
        """SIGTERM the entrypoint as Cloud Run does; returns (exit code, seconds until it exited)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        return code, time.monotonic() - started

    def tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the entrypoint; SIGKILL whatever of its tree survived (so a failing test leaks nothing)."""
        if self.process is None:
            return
        survivors = {pid: stamp for pid, stamp in self.tree().items() if pid != self.process.pid}
        stop_process(self.process, STOP_TIMEOUT_S)
        for pid, stamp in survivors.items():
            if start_time(pid) == stamp:
                os.kill(pid, signal.SIGKILL)
