"""`python -m lib.config` on the SQLite file and on Firestore (Google's emulator): show, get, set and unset the
trading config, each change checked with the bounds a run checks and refused without writing."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lib.seed import seed
from lib.store.sqlite import SqliteStore
from tests.support import REPO_ROOT

ACCOUNT = "DU1234567"


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def backend(request, tmp_path):
    """(a store handle for the test, the environment that points the command at the same store)."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        store = SqliteStore(str(path))
        request.addfinalizer(store.close)
        env = {"STORE_BACKEND": "sqlite", "STORE_PATH": str(path)}
    else:
        project = request.getfixturevalue("firestore_project")
        store = request.getfixturevalue("open_firestore")()
        env = {"STORE_BACKEND": "firestore", "PROJECT_ID": project,
               "FIRESTORE_EMULATOR_HOST": os.environ["FIRESTORE_EMULATOR_HOST"]}
    seed(store, ACCOUNT)
    return store, env


def config_command(env: dict, *args: str) -> tuple[int, object, str]:
    done = subprocess.run([sys.executable, "-m", "lib.config", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "TRADING_MODE": "paper", **env}, timeout=60)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def test_set_get_show_and_unset_print_the_merged_config(backend):
    store, env = backend
    # the shares of all strategies add up to at most 1: the seeded ones take all of it until one is lowered
    code, _, error = config_command(env, "set", "exposure.strategies.sixtyforty", "0.05")
    assert code != 0 and "adding up to at most 1" in error
    assert config_command(env, "set", "exposure.strategies.spymacdvixy", "0.85")[0] == 0
    code, merged, _ = config_command(env, "set", "exposure.strategies.sixtyforty", "0.05")
    assert code == 0 and merged["exposure"]["strategies"]["sixtyforty"] == 0.05
    assert merged["exposure"]["overall"] == store.get("config/paper")["exposure"]["overall"]
    assert store.get("config/paper")["exposure"]["strategies"]["sixtyforty"] == 0.05
    assert config_command(env, "get", "exposure.strategies.sixtyforty")[:2] == (0, 0.05)
    code, shown, _ = config_command(env, "show")
    assert code == 0 and shown == merged

    code, merged, _ = config_command(env, "unset", "exposure.strategies.sixtyforty")
    assert code == 0 and "sixtyforty" not in merged["exposure"]["strategies"]
    code, _, error = config_command(env, "get", "exposure.strategies.sixtyforty")
    assert code == 1 and "exposure.strategies.sixtyforty is not set" in error


def test_a_value_out_of_the_run_bounds_is_refused_and_nothing_is_written(backend):
    store, env = backend
    before = store.get("config/paper")
    code, printed, error = config_command(env, "set", "exposure.overall", "90")
    assert code == 2 and printed is None
    assert "refused" in error and "exposure.overall" in error
    assert store.get("config/paper") == before


def test_common_is_checked_as_each_mode_merges_it_and_text_values_are_kept_as_text(backend):
    store, env = backend
    code, merged, _ = config_command(env, "--common", "set", "adaptivePriority", "Urgent")
    assert code == 0 and store.get("config/common") == {"adaptivePriority": "Urgent"}
    assert merged["adaptivePriority"] == "Normal"              # config/paper's own value wins the merge
    code, _, error = config_command(env, "--common", "set", "maxOrderNotional", "-1")
    assert code == 2 and "maxOrderNotional" in error
    assert store.get("config/common") == {"adaptivePriority": "Urgent"}
    # paper overrides retryCheckMinutes, so 0 in common reaches no run in paper mode
    assert config_command(env, "--common", "set", "retryCheckMinutes", "0")[0] == 0
