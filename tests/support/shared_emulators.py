"""One Firestore and one Pub/Sub emulator for a whole test run, however many pytest-xdist processes run it.

Each emulator is a JVM that takes seconds of CPU to start and more to warm up; one per xdist process multiplied
that. The process that starts the run makes a directory (its path in TESTS_EMULATOR_DIR, which the xdist processes
inherit); the first test that needs an emulator starts it, under a lock, and records its address and process group
there, where the others find it; the starting process stops every recorded emulator at the end of the run. Tests
keep apart by project id, as before.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

from tests.support.firestore_emulator import EmulatorUnavailable, FirestoreEmulator, stop_group

DIRECTORY_VARIABLE = "TESTS_EMULATOR_DIR"


def open_run_directory() -> None:
    """For the process that starts the run: the directory the run's emulators are recorded in."""
    os.environ[DIRECTORY_VARIABLE] = tempfile.mkdtemp(prefix="test-emulators-")


def shared(emulator_class: type[FirestoreEmulator], key: str) -> FirestoreEmulator:
    """The run's emulator of `emulator_class`, started by the first caller of the run.

    Raises:
        EmulatorUnavailable: it cannot start (every later caller is told the same without trying again).
    """
    directory = Path(os.environ[DIRECTORY_VARIABLE])
    record = directory / f"{key}.json"
    with open(directory / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.exists():
            found = json.loads(record.read_text())
            if "problem" in found:
                raise EmulatorUnavailable(found["problem"])
            return emulator_class.running_at(found["host"], found["port"], directory / f"{key}.log")
        emulator = emulator_class(directory / f"{key}.log")
        try:
            emulator.start()
        except EmulatorUnavailable as exc:
            record.write_text(json.dumps({"problem": str(exc)}))
            raise
        record.write_text(json.dumps({"host": emulator.host, "port": emulator.port, "group": emulator.group}))
        return emulator


def close_run_directory() -> None:
    """For the process that started the run: stop the emulators its tests started, remove the directory."""
    directory = os.environ.pop(DIRECTORY_VARIABLE, None)
    if directory is None:
        return
    for record in Path(directory).glob("*.json"):
        group = json.loads(record.read_text()).get("group")
        if group is not None:
            stop_group(group)
    shutil.rmtree(directory, ignore_errors=True)
