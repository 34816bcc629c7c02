"""The container's entrypoint run as Cloud Run runs it, with the simulator as the gateway and a stand-in display."""
import json
import os
import signal
import stat
from pathlib import Path

import javaproperties
import pytest

from tests.deploy.entrypoint_process import start_time

VERSION = "projects/p1/secrets/ib-credentials-paper/versions/4"
USERNAME = "trader-login-7"
# every character IBC's Java-properties reading could mangle, and one outside Latin-1
PASSWORD = "a\\b #c=d%e:f!gé€"
CLOUD_RUN_GRACE_S = 10


def environ_of(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "environ").read_bytes()
    except OSError:
        return b""


def every_cmdline() -> dict[int, bytes]:
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:
                pass
    return lines


def test_the_service_answers_behind_the_entrypoint(entrypoint):
    process = entrypoint(env={"IB_USERNAME": USERNAME, "IB_PASSWORD": PASSWORD})
    process.wait_ready()
    status, body = process.request("GET", "/")
    assert status == 200 and body["tradingMode"] == "paper"
    status, summary = process.request("GET", "/summary")
    assert status == 200 and "portfolio" in summary
    gateway_lines = [e for e in process.log_entries() if e.get("source") == "gateway"]
    assert any("simulator listening" in e["message"] for e in gateway_lines)
    assert all(e["childPid"] == process.events("gatewayStarted")[0]["childPid"] for e in gateway_lines)
    children = set(process.tree()) - {process.process.pid}
    assert children and all(PASSWORD.encode() not in environ_of(pid) for pid in children)
    assert PASSWORD not in process.log_path.read_text()


def test_sigterm_leaves_no_process_of_the_tree_alive_within_cloud_runs_grace(entrypoint):
    process = entrypoint(ignore_sigterm_display=True)
    process.wait_ready()
    tree = process.tree()
    # entrypoint, display, simulator, gunicorn master and its worker
    assert len(tree) >= 5, tree
    code, elapsed_s = process.terminate()
    assert code == 0 and elapsed_s < CLOUD_RUN_GRACE_S
    assert [pid for pid, stamp in tree.items() if start_time(pid) == stamp] == []
    assert process.events("displayKilled"), "the display ignored SIGTERM and must have been killed"
    assert any(e["message"] == "Shutting down: Master" for e in process.log_entries()), "gunicorn's own shutdown ran"


def test_a_killed_gateway_is_restarted_and_the_service_becomes_ready_again(entrypoint):
    process = entrypoint()
    process.wait_ready()
    first = process.events("gatewayStarted")[0]["childPid"]
    os.kill(first, signal.SIGKILL)
    process.poll(lambda: len(process.events("gatewayApiReady")) >= 2, 30, "the restarted gateway's API")
    exited = process.events("gatewayExited")
    assert exited[0]["exitCode"] == -signal.SIGKILL
    assert process.events("gatewayStarted")[1]["childPid"] != first
    process.wait_ready(ready_events=2)
    assert process.request("GET", "/")[0] == 200


def test_the_login_round_trips_through_config_ini_and_reaches_no_command_line(entrypoint, secret_manager):
    secret_manager.add(VERSION, json.dumps({"username": USERNAME, "password": PASSWORD}).encode())
    process = entrypoint(env={"IB_CREDENTIALS_SECRET": VERSION, "SECRET_MANAGER_EMULATOR_HOST": secret_manager.host})
    process.wait_ready()
    assert secret_manager.requested == [VERSION]
    with open(process.ibc_ini, encoding="iso-8859-1") as ini:
        ibc = javaproperties.load(ini)
    assert (ibc["IbLoginId"], ibc["IbPassword"]) == (USERNAME, PASSWORD)
    assert ibc["ExistingSessionDetectedAction"] == "primary" and ibc["TradingMode"] == "paper"
    assert stat.S_IMODE(process.ibc_ini.stat().st_mode) == 0o600
    assert stat.S_IMODE(process.ibc_ini.parent.stat().st_mode) == 0o700
    tree = set(process.tree())
    assert {pid for pid, line in every_cmdline().items() if PASSWORD.encode() in line} == set()
    assert {pid for pid in tree if PASSWORD.encode() in environ_of(pid)} == set()
    assert PASSWORD not in process.log_path.read_text() and USERNAME not in process.log_path.read_text()


def test_a_gateway_that_keeps_failing_ends_the_container_non_zero(entrypoint):
    process = entrypoint(env={"GATEWAY_CMD": "python3 -c 'import sys; sys.exit(3)'", "GATEWAY_MAX_FAILURES": "3",
                              "GATEWAY_RESTART_BACKOFF_S": "0.05"})
    assert process.process.wait(timeout=30) == 1
    assert [e["exitCode"] for e in process.events("gatewayExited")] == [3, 3]
    assert process.events("gatewayGaveUp") and not process.events("gunicornStarted")


IBC_LOGIN = {"GATEWAY_CMD": "", "IB_GATEWAY_VERSION": "10.30.1t", "IB_USERNAME": USERNAME, "IB_PASSWORD": PASSWORD}


@pytest.mark.parametrize("env, reason", [
    (IBC_LOGIN, "IB Gateway 10.30.1t is not installed where IBC looks"),
    ({**IBC_LOGIN, "IBC_PATH": "/nonexistent/ibc"}, "scripts/ibcstart.sh is not under IBC_PATH=/nonexistent/ibc"),
    ({"GATEWAY_CMD": "", "IB_GATEWAY_VERSION": "10.30.1t"}, "IBC needs the IB login"),
    ({"IB_CREDENTIALS_SECRET": "projects/p1/secrets/none"}, "IB_CREDENTIALS_SECRET must look like"),
])
def test_a_container_that_cannot_work_refuses_to_start_saying_why(entrypoint, tmp_path, env, reason):
    ibcstart = tmp_path / "ibc-install" / "scripts" / "ibcstart.sh"
    ibcstart.parent.mkdir(parents=True)
    ibcstart.write_text("#!/bin/bash\n")
    process = entrypoint(env={"TWS_PATH": str(tmp_path / "ib"), "IBC_PATH": str(ibcstart.parents[1]), **env})
    assert process.process.wait(timeout=30) == 2
    failure = process.events("entrypointFailed")
    assert failure and reason in failure[0]["message"]
    assert not process.events("displayStarted")
