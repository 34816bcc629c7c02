"""Starts the servers the tests run (`python -m simulator`, `python -m gunicorn`) as children of a process that has
already imported them, instead of a new interpreter each time.

A new interpreter spends over a second of CPU importing pandas, exchange-calendars, Flask, ib_async and gunicorn
and building NYSE's calendar, and the suite starts a few hundred servers on two cores.
multiprocessing's forkserver imports tests.support.server_preload once per test process and forks a child per
server, which runs the module as `python -m` would: its own process, session, environment, working directory and log
file, on real sockets. Only the imported libraries and the built calendars are shared, copy-on-write; the
service's strategies and intents are imported by each server, which finds the strategies of its own PYTHONPATH and
strategies/ folder.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

PRELOAD = ["tests.support.server_preload"]


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _run_module(module: str, args: list[str], cwd: str, env: dict, log_path: str, new_session: bool) -> None:
    """The child's side: become the process `python -m module *args` would be, then run the module."""
    if new_session:
        os.setsid()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    # where `python -m` looks for modules: the working directory, then PYTHONPATH (a strategy package a test installs)
    sys.path[:0] = [cwd, *(entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry)]
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        # an interpreter's exit runs these (logging's flush among them); multiprocessing's child ends in os._exit
        atexit._run_exitfuncs()


class ForkedProcess:
    """`python -m module *args` forked from the preloaded process, with the part of subprocess.Popen's interface the
    tests use (pid, poll, wait, returncode, send_signal, terminate, kill).

    Args:
        module: what `python -m` would run.
        args: its command line arguments.
        cwd, env: its working directory and whole environment.
        log_path: the file its stdout and stderr append to.
        new_session: a session and process group of its own (Popen's start_new_session), so that the group can be
            signalled at once.
    """

    def __init__(self, module: str, args: list[str], *, cwd: Path | str, env: dict, log_path: Path | str,
                 new_session: bool = False):
        self.args = [sys.executable, "-m", module, *args]
        # daemon: a server a failed test left running is stopped when its test process exits
        self._process = _context().Process(
            target=_run_module, args=(module, list(args), str(cwd), dict(env), str(log_path), new_session),
            name=module, daemon=True)
        self._process.start()
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
