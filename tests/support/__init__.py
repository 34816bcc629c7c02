"""Helpers shared by the test packages and the benchmarks."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def stop_process(process: subprocess.Popen, timeout_s: float) -> int:
    """SIGTERM `process` unless it has exited, SIGKILL it after `timeout_s`; returns its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def json_lines(text: str) -> list[dict]:
    """The JSON objects among `text`'s lines; anything else a process printed is skipped."""
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
