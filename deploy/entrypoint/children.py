"""One child process of the entrypoint: started in its own process group, its output forwarded as JSON log lines,
stopped with SIGTERM and, after a grace period, SIGKILL of the whole group.

A group, not a pid, because IBC's ibcstart.sh starts java as its own child and, when an auto-restart file exists,
starts it again after java ends: only signalling the group reaches every process of the gateway.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Callable, Iterable, Mapping, Sequence

log = logging.getLogger("deploy.entrypoint")

LINE_LIMIT_BYTES = 1 << 20
GROUP_POLL_S = 0.05
MIN_SECRET_CHARS = 3
REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by ***. Very short secrets are left alone: they would blank whole lines."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    return text


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


class Child:
    """A supervised process.

    Args:
        name: its name in the logs ("display", "gateway", "gunicorn").
        argv: the command.
        env: its whole environment.
        cwd: its working directory (None = the entrypoint's).
        forward_output: pipe stdout/stderr into JSON log lines (False = inherit the entrypoint's, for children that
            already write JSON lines).
        secrets: texts redacted from forwarded lines.
        terminate_group: SIGTERM the whole group (False = only the process, which stops its own children, as
            gunicorn's master stops its workers gracefully).
        on_line: also given each forwarded line (redacted), on the entrypoint's loop.
    """

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None = None,
                 forward_output: bool = True, secrets: Iterable[str] = (), terminate_group: bool = True,
                 on_line: Callable[[str], None] | None = None):
        self.name = name
        self.argv = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._forward = forward_output
        self._secrets = tuple(secrets)
        self._terminate_group = terminate_group
        self._on_line = on_line
        self.process: asyncio.subprocess.Process | None = None
        self.started_at: float | None = None
        self._pumps: list[asyncio.Task] = []

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def uptime_s(self) -> float:
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    async def start(self) -> None:
        """Start the process (raises OSError when the command cannot be run)."""
        pipe = asyncio.subprocess.PIPE if self._forward else None
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self._env, cwd=self._cwd, stdin=asyncio.subprocess.DEVNULL, stdout=pipe, stderr=pipe,
            start_new_session=True, limit=LINE_LIMIT_BYTES)
        self.started_at = time.monotonic()
        if self._forward:
            self._pumps = [asyncio.create_task(self._pump(self.process.stdout, "stdout", logging.INFO)),
                           asyncio.create_task(self._pump(self.process.stderr, "stderr", logging.WARNING))]
        log.info("%s started (pid %s): %s", self.name, self.pid, redact(" ".join(self.argv), self._secrets),
                 extra={"fields": {"event": f"{self.name}Started", "childPid": self.pid}})

    async def _pump(self, stream: asyncio.StreamReader, stream_name: str, level: int) -> None:
        child_log = logging.getLogger(f"deploy.entrypoint.{self.name}")
        while True:
            try:
                raw = await stream.readline()
            except ValueError:
                # a line beyond LINE_LIMIT_BYTES: forward what arrived rather than stop reading (the child would block)
                raw = await stream.read(LINE_LIMIT_BYTES)
            if not raw:
                return
            line = redact(raw.decode("utf-8", errors="replace").rstrip("\r\n"), self._secrets)
            if line:
                child_log.log(level, "%s", line, extra={"fields": {"source": self.name, "stream": stream_name,
                                                                   "childPid": self.pid}})
                if self._on_line is not None:
                    self._on_line(line)

    async def wait(self) -> int:
        """Wait for the process to end and its output to be forwarded; returns its exit code (-N for signal N)."""
        code = await self.process.wait()
        if self._pumps:
            await asyncio.gather(*self._pumps, return_exceptions=True)
        return code

    async def stop(self, grace_s: float) -> int | None:
        """SIGTERM (the group, or only the process), SIGKILL the group after `grace_s`; returns the exit code.

        Whatever is left in the group after the process ended (an orphaned java) is killed too.
        """
        if self.process is None:
            return None
        pgid = self.process.pid
        if self.running:
            if self._terminate_group:
                _signal_group(pgid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and (self.running or _group_alive(pgid)):
            await asyncio.sleep(GROUP_POLL_S)
        if self.running or _group_alive(pgid):
            log.warning("%s did not stop within %.1f s of SIGTERM; killing its process group", self.name, grace_s,
                        extra={"fields": {"event": f"{self.name}Killed", "childPid": pgid}})
            _signal_group(pgid, signal.SIGKILL)
        return await self.wait()

    def kill_leftovers(self) -> None:
        """SIGKILL whatever remains in the group once the process itself has exited."""
        if self.process is not None:
            _signal_group(self.process.pid, signal.SIGKILL)
