"""Google's Cloud Firestore emulator (`gcloud emulators firestore start`, Java) on a free loopback port, for tests.

It behaves like production Firestore where the service depends on it: transactions lock what they read and answer
ABORTED under contention, set() replaces a document, commits are atomic, queries follow Firestore's typing rules.
The emulator keeps one in-memory database per project id; tests use a fresh project each and `reset()` it after.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.support.service_process import free_port

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
INSTALL_HINT = ("install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) and its Firestore "
                "emulator: `gcloud components install cloud-firestore-emulator`, or on Debian/Ubuntu with Google's "
                "apt repository `apt-get install google-cloud-cli-firestore-emulator`; it needs Java 11 or newer. "
                "Without it, `pytest -m 'not firestore'` runs everything else")


class EmulatorUnavailable(RuntimeError):
    """gcloud, its Firestore emulator component or Java is missing, or the emulator did not start."""


def missing_tools() -> list[str]:
    """What the emulator needs but is not on PATH (empty when it can start)."""
    return [tool for tool in ("gcloud", "java") if shutil.which(tool) is None]


def new_project_id(prefix: str = "test") -> str:
    """A project id nobody else uses on this emulator: its database starts empty."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class FirestoreEmulator:
    """One emulator process group (gcloud, the wrapper script and the JVM it starts).

    Args:
        log_path: where the emulator's output goes (read it when it fails to start).
    """

    name = "Firestore"
    gcloud_args = ("emulators", "firestore", "start")
    install_hint = INSTALL_HINT

    def __init__(self, log_path: Path):
        self.log_path = Path(log_path)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._process: subprocess.Popen | None = None

    @classmethod
    def running_at(cls, host: str, port: int, log_path: Path) -> "FirestoreEmulator":
        """An emulator another process started and stops."""
        emulator = cls(log_path)
        emulator.host, emulator.port = host, port
        return emulator

    @property
    def group(self) -> int | None:
        """The process group of the emulator this object started (gcloud's pid), None once stopped."""
        return None if self._process is None else self._process.pid

    @property
    def address(self) -> str:
        """host:port, the value of FIRESTORE_EMULATOR_HOST."""
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> "FirestoreEmulator":
        """Start the emulator and wait until it answers HTTP.

        Raises:
            EmulatorUnavailable: gcloud or java is missing, or the emulator did not answer within `timeout_s`.
        """
        missing = missing_tools()
        if missing:
            raise EmulatorUnavailable(f"{' and '.join(missing)} not found on PATH; {self.install_hint}")
        self.port = free_port()
        command = [shutil.which("gcloud"), *self.gcloud_args, f"--host-port={self.address}", "--quiet"]
        with open(self.log_path, "ab") as log:
            # A session of its own: gcloud starts a shell script that starts the JVM, and stop() signals all three.
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self._process.poll() is not None:
                raise EmulatorUnavailable(f"the {self.name} emulator exited with {self._process.returncode} "
                                          f"({self.install_hint}); its output:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmulatorUnavailable(f"the {self.name} emulator did not answer on {self.address} within "
                                          f"{timeout_s:g} s; its output:\n{self.log()}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """Stop the emulator's process group (stop_group) and reap gcloud."""
        if self._process is None:
            return
        stop_group(self._process.pid)
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        self._process = None

    def reset(self, project_id: str) -> None:
        """Delete every document of `project_id`'s default database (the emulator's own endpoint)."""
        request = urllib.request.Request(
            f"http://{self.address}/emulator/v1/projects/{project_id}/databases/(default)/documents", method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/", timeout=1) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False


def stop_group(group: int) -> None:
    """SIGTERM an emulator's process group (gcloud, its wrapper script and the JVM), SIGKILL what is left after
    STOP_TIMEOUT_S. Members that are zombies count as gone: the script and the JVM are reparented, and whoever
    stops the group need not be their parent."""
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _live_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _live_members(group):
        _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def _live_members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ")"
            state, _parent, process_group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(process_group) == group and state != "Z":
            members.append(int(stat.parent.name))
    return members
