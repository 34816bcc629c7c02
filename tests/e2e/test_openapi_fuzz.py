"""schemathesis against the running service: gunicorn over HTTP, the simulator, SQLite. Every operation of
GET /openapi.json gets generated valid and invalid requests; no answer may be a 5xx, and every answer must be one
the document declares, with the body it declares.

Nothing may trade: the store's kill switch is off (`tradingEnabled: false`, so a run that could place orders is
403) and the hooks make every request to an intent that takes `dryRun` a dry run unless it says otherwise.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

CHECKS = ("not_a_server_error", "response_schema_conformance", "status_code_conformance",
          "content_type_conformance", "unsupported_method", "negative_data_rejection")
MAX_EXAMPLES = 8
SEED = 15


CONFIG = Path(__file__).with_name("schemathesis.toml")


def run_schemathesis(url: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", url, "--checks", ",".join(CHECKS),
               "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
               "--phases", "examples,coverage,fuzzing", "--request-timeout", "60", "--no-color"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow(seconds=50)
def test_schemathesis_finds_no_failure_and_nothing_trades(start_simulator, start_service, tmp_path):
    simulator = start_simulator()
    service = start_service(simulator, config={"tradingEnabled": False})
    run = run_schemathesis(service.url("/openapi.json"), tmp_path)
    assert run.returncode == 0, f"schemathesis found failures:\n{run.stdout[-20000:]}\n{run.stderr[-4000:]}"

    requests = [entry["httpRequest"] for entry in service.log_entries() if "httpRequest" in entry]
    dry_runs = [r for r in requests if r["requestUrl"] == "/allocation" and r["status"] == 200]
    refused = [r for r in requests if r["status"] == 403]
    assert len(requests) > 200 and dry_runs and refused, "the fuzzing did not reach the order-capable intents"
    state = simulator.state()
    assert (state["open_orders"], state["completed_orders"], state["executions"]) == ([], [], [])
