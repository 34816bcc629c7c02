"""Acceptance: the command line validates its arguments, announces itself once and shuts down cleanly."""

import signal
import subprocess
import sys
import time

import pytest

from tests.support import REPO_ROOT, stop_process
from tests.support.simulator_process import LISTENING, SimulatorProcess

BAD_ARGUMENTS = {
    "port out of range": (["--port", "70000"], "--port"),
    "port not a number": (["--port", "four"], "--port"),
    "admin port negative": (["--admin-port", "-1"], "--admin-port"),
    "seed not a number": (["--seed", "x"], "--seed"),
    "cash negative": (["--cash", "-5"], "--cash"),
    "cash not finite": (["--cash", "nan"], "--cash"),
    "unknown currency": (["--base-currency", "XYZ"], "--base-currency"),
    "bad account": (["--account", "my account"], "--account"),
    "bad time": (["--now", "yesterday"], "--now"),
    "unknown option": (["--bogus"], "--bogus"),
}


def test_bad_arguments_exit_2_with_a_message():
    runs = {name: subprocess.Popen([sys.executable, "-m", "simulator", "--port", "0", *args], cwd=REPO_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, (args, _) in BAD_ARGUMENTS.items()}
    try:
        for name, process in runs.items():
            _, stderr = process.communicate(timeout=30)
            assert process.returncode == 2, f"{name}: exit {process.returncode}\n{stderr}"
            assert "usage:" in stderr and BAD_ARGUMENTS[name][1] in stderr, f"{name}:\n{stderr}"
            assert "Traceback" not in stderr and "simulator listening" not in stderr
    finally:
        # a simulator that accepted bad arguments would otherwise keep listening after the test
        for process in runs.values():
            stop_process(process, timeout_s=10)


def test_listening_line_is_logged_once(simulator):
    lines = [line for line in simulator.log().splitlines() if "simulator listening" in line]
    assert len(lines) == 1
    match = LISTENING.search(lines[0])
    assert int(match["port"]) == simulator.port and int(match["admin_port"]) == simulator.admin_port
    assert match["account"] == "DU1234567" and match["seed"] == "11" and match["host"] == "127.0.0.1"


def test_without_admin_port_the_line_says_so(tmp_path, request):
    process = SimulatorProcess(log_path=tmp_path / "simulator.log")
    request.addfinalizer(process.stop)
    process.start(admin_port=None)
    assert process.admin_port is None and LISTENING.search(process.log())["admin_port"] == "-"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_quickly_with_exit_0(start_simulator, connect, tmp_path, signum):
    state_path = tmp_path / "state.json"
    process = start_simulator(state_path=state_path, account="DU7654321", cash=250_000)
    ib = connect(process)
    assert ib.managedAccounts() == ["DU7654321"]
    started = time.monotonic()
    process.process.send_signal(signum)
    assert process.process.wait(timeout=5) == 0
    assert time.monotonic() - started < 3
    assert "Traceback" not in process.log()
    assert state_path.exists() and state_path.stat().st_size > 0
    # the connected client sees the gateway go away: ib_insync's blocking calls raise on the disconnect
    with pytest.raises(ConnectionError):
        ib.sleep(10)
    assert not ib.isConnected()


def test_a_busy_port_fails_with_a_message(simulator):
    run = subprocess.run([sys.executable, "-m", "simulator", "--port", str(simulator.port)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert "cannot run" in run.stderr and "Traceback" not in run.stderr


def test_a_corrupt_state_file_fails_with_a_message_and_is_kept(tmp_path):
    state_path = tmp_path / "state.json"
    state_path.write_text("{not json")
    run = subprocess.run([sys.executable, "-m", "simulator", "--port", "0", "--state", str(state_path)],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert str(state_path) in run.stderr and "Traceback" not in run.stderr
    assert state_path.read_text() == "{not json"
