"""Store fixtures: one `store` per adapter (memory, SQLite on tmp_path, Firestore on Google's emulator)."""
from __future__ import annotations

import pytest

from lib.store.memory import MemoryStore
from lib.store.sqlite import SqliteStore

ADAPTERS = ["memory", "sqlite", pytest.param("firestore", marks=pytest.mark.firestore)]


@pytest.fixture(params=ADAPTERS)
def store(request, tmp_path):
    """Each adapter in turn, empty."""
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "store.sqlite3")
    else:
        yield request.getfixturevalue("open_firestore")()
        return
    yield opened
    opened.close()
