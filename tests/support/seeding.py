"""A SQLite store seeded with the local paper config, as `make run` leaves it, for tests that start the service."""
from __future__ import annotations

from pathlib import Path

from lib.seed import seed
from lib.store.sqlite import SqliteStore

ACCOUNT = "DU1234567"


def seed_sqlite(path: Path) -> None:
    """Seed the SQLite file at `path` for ACCOUNT and close it, so the service's own processes are its only writers."""
    store = SqliteStore(str(path))
    try:
        seed(store, ACCOUNT)
    finally:
        store.close()
