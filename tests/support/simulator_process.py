"""Runs the paper gateway (`python -m simulator`) as a process of its own on free loopback ports, for end-to-end
tests."""
from __future__ import annotations

import os
import re
import signal
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests.support import REPO_ROOT, stop_process
from tests.support.forked import ForkedProcess
from tests.support.service_process import http

LISTENING = re.compile(r"simulator listening host=(?P<host>\S+) port=(?P<port>\d+) admin_port=(?P<admin_port>\d+|-) "
                       r"account=(?P<account>\S+) seed=(?P<seed>\d+)")


class AdminError(AssertionError):
    """An admin call answered with a non-2xx status."""

    def __init__(self, status: int, body: dict, method: str, path: str):
        super().__init__(f"{method} {path} -> {status}: {body}")


class SimulatorProcess:
    """One `python -m simulator` process with its admin API.

    Args:
        seed: price path seed.
        now: start of a frozen clock, a datetime or ISO 8601 text (None = real time).
        state_path: the --state file (kept across restart()).
        account, cash, fill_delay_ms: passed through when given.
        account_update_s: --account-update-s, the interval of account value updates (the simulator's default is
            IB's 180 s; tests that read account values right after a price move set a short one).
        execution_days, max_messages_per_s, fills: --execution-days, --max-messages-per-s, --fills.
        start_in_session: --start-in-session (without `now`: a clock inside the last US session, as `make run`).
        log_path: file receiving the process's stderr (default: a temporary file).
    """

    def __init__(self, *, seed: int = 1, now: datetime | str | None = None, state_path: Path | str | None = None,
                 account: str | None = None, cash: float | None = None, fill_delay_ms: float | None = None,
                 account_update_s: float | None = None, execution_days: int | None = None,
                 max_messages_per_s: float | None = None, fills: str | None = None,
                 start_in_session: bool = False, log_path: Path | str | None = None):
        self.seed = seed
        self.now = now.isoformat() if isinstance(now, datetime) else now
        self.state_path = Path(state_path) if state_path is not None else None
        options = {"--account": account, "--cash": cash, "--fill-delay-ms": fill_delay_ms,
                   "--account-update-s": account_update_s, "--execution-days": execution_days,
                   "--max-messages-per-s": max_messages_per_s, "--fills": fills}
        self._options = [str(part) for name, value in options.items() if value is not None for part in (name, value)]
        if start_in_session:
            self._options.append("--start-in-session")
        if log_path is None:
            handle, log_path = tempfile.mkstemp(prefix="simulator-", suffix=".log")
            os.close(handle)
        self.log_path = Path(log_path)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.admin_port: int | None = None
        self.account: str | None = None
        self.process: ForkedProcess | None = None
        self._log_offset = 0

    # --- lifecycle ----------------------------------------------------------------------------------

    def arguments(self, *, port: int = 0, admin_port: int | None = 0) -> list[str]:
        """`python -m simulator`'s command line arguments."""
        command = ["--host", self.host, "--port", str(port), "--seed", str(self.seed), *self._options]
        if admin_port is not None:
            command += ["--admin-port", str(admin_port)]
        if self.now is not None:
            command += ["--now", self.now]
        if self.state_path is not None:
            command += ["--state", str(self.state_path)]
        return command

    def start(self, *, port: int = 0, admin_port: int | None = 0, timeout_s: float = 20) -> "SimulatorProcess":
        """Start the process and wait for its listening line (ports 0 = free ports, admin_port None = no admin)."""
        self.launch(port=port, admin_port=admin_port)
        return self.wait_listening(timeout_s=timeout_s)

    def launch(self, *, port: int = 0, admin_port: int | None = 0) -> "SimulatorProcess":
        """Start the process without waiting (several can then start in parallel); see wait_listening()."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = ForkedProcess("simulator", self.arguments(port=port, admin_port=admin_port), cwd=REPO_ROOT,
                                     env=os.environ, log_path=self.log_path)
        return self

    def wait_listening(self, *, timeout_s: float = 20) -> "SimulatorProcess":
        """Wait for the listening line of the launched process and read its ports from it."""
        match = self._wait_for_listening(timeout_s)
        self.port = int(match["port"])
        self.admin_port = None if match["admin_port"] == "-" else int(match["admin_port"])
        self.account = match["account"]
        return self

    def _wait_for_listening(self, timeout_s: float) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while True:
            match = LISTENING.search(self.log())
            if match:
                return match
            if self.process.poll() is not None:
                raise AssertionError(f"simulator exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"simulator not listening after {timeout_s} s:\n{self.log()[-4000:]}")
            time.sleep(0.02)

    def terminate(self, *, timeout_s: float = 10) -> tuple[int, float]:
        """SIGTERM the process and wait; returns (exit code, seconds it took)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        return code, time.monotonic() - started

    def stop(self, *, timeout_s: float = 10) -> int | None:
        """Stop the process (SIGTERM, then SIGKILL after `timeout_s`); returns its exit code."""
        return None if self.process is None else stop_process(self.process, timeout_s)

    def kill(self) -> None:
        """SIGKILL, as when the gateway crashes (no state flush on the way out)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, *, timeout_s: float = 20) -> "SimulatorProcess":
        """Stop (unless already killed) and start again with the same options, --state file and ports."""
        was_running = self.process is not None and self.process.poll() is None
        code = self.stop()
        assert not was_running or code == 0, f"simulator exited with {code} on SIGTERM:\n{self.log()[-4000:]}"
        return self.start(port=self.port, admin_port=self.admin_port, timeout_s=timeout_s)

    def log(self) -> str:
        """What the current run wrote to stderr so far."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def __enter__(self) -> "SimulatorProcess":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- admin API ----------------------------------------------------------------------------------

    def admin_request(self, method: str, path: str, body=None, *, raw: bytes | None = None,
                      timeout_s: float = 10) -> tuple[int, dict]:
        """One admin call; returns (status, decoded JSON body) for any status."""
        return http(method, f"http://{self.host}:{self.admin_port}{path}", body, raw=raw, timeout_s=timeout_s)

    def admin(self, method: str, path: str, body=None, *, timeout_s: float = 10) -> dict:
        """One admin call that must succeed; returns its JSON body (raises AdminError otherwise)."""
        status, payload = self.admin_request(method, path, body, timeout_s=timeout_s)
        if not 200 <= status < 300:
            raise AdminError(status, payload, method, path)
        return payload

    def state(self) -> dict:
        return self.admin("GET", "/state")


def wait_until(condition, *, timeout_s: float = 10.0, what: str = "condition", pump=None):
    """Poll `condition` until it returns something truthy (returned) or fail after `timeout_s`.

    `pump(timeout_s)` runs between polls so asyncio clients make progress (e.g. `ib.waitOnUpdate`);
    without it the poll sleeps briefly.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        remaining_s = deadline - time.monotonic()
        if remaining_s <= 0:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        if pump is None:
            time.sleep(min(0.02, remaining_s))
        else:
            pump(min(0.1, remaining_s))
