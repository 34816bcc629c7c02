"""The state file: the world written as JSON after each change and read back at start, so the account survives."""

from __future__ import annotations

import json
import os
from pathlib import Path

from simulator.engine.world import World

STATE_FORMAT = 1


def save_state(world: World, path: str) -> None:
    """Write the world to `path` atomically (temporary file + rename), so a crash never leaves half a file."""
    file = Path(path)
    state = {"format": STATE_FORMAT, **world.to_state()}
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True))
    os.replace(tmp, file)


def load_state(world: World, path: str) -> bool:
    """Continue `world` from the file at `path`; False when there is no such file.

    Raises:
        json.JSONDecodeError: the file is not JSON.
        ValueError: the file has another format.
    """
    file = Path(path)
    if not file.exists():
        return False
    state = json.loads(file.read_text())
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"{path}: unsupported state format {state.get('format')!r}")
    world.restore(state)
    return True
