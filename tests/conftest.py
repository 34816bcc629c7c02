"""Fixtures every test package may use: the Firestore emulator (npm @firestore-emulator/server) on loopback."""
from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, stop_process

pytest_plugins = ("tests.support.fixtures",)

EMULATOR_SCRIPT = Path(__file__).parent / "store" / "firestore_emulator.mjs"
EMULATOR_PACKAGE = REPO_ROOT / "node_modules" / "@firestore-emulator" / "server" / "package.json"
EMULATOR_START_TIMEOUT_S = 20.0
EMULATOR_STOP_TIMEOUT_S = 5.0


def _read_port_line(process: subprocess.Popen, deadline: float) -> int:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        line = ""
    if not line.startswith("listening "):
        raise RuntimeError(f"the emulator did not report its port (got {line!r})")
    return int(line.split()[1])


def _wait_for_port(host: str, port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing accepts connections on {host}:{port}") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory) -> str:
    """host:port of a Firestore gRPC emulator (npm @firestore-emulator/server) started for this test session."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (`node`) is not on PATH; the Firestore store tests need it. Install Node, then run "
                    "`make test` (it runs `npm ci`).", pytrace=False)
    if not EMULATOR_PACKAGE.exists():
        pytest.fail(f"the Firestore emulator is not installed ({EMULATOR_PACKAGE.relative_to(REPO_ROOT)} is "
                    "missing): run `make test`, or `npm ci` in the repository root.", pytrace=False)
    log_path = tmp_path_factory.mktemp("firestore-emulator") / "stderr.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([node, str(EMULATOR_SCRIPT), "0"], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        deadline = time.monotonic() + EMULATOR_START_TIMEOUT_S
        port = _read_port_line(process, deadline)
        _wait_for_port("127.0.0.1", port, deadline)
    except RuntimeError as exc:
        _stop(process)
        pytest.fail(f"the Firestore emulator did not start: {exc}; its stderr:\n{log_path.read_text()}",
                    pytrace=False)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    stop_process(process, EMULATOR_STOP_TIMEOUT_S)
    process.stdin.close()
    process.stdout.close()
