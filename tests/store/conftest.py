"""Store fixtures: one `store` per adapter (memory, SQLite on tmp_path, Firestore on a loopback emulator)."""
from __future__ import annotations

import uuid

import pytest

from lib.store.memory import MemoryStore
from lib.store.sqlite import SqliteStore


def _firestore_store(request, monkeypatch):
    from google.cloud import firestore

    from lib.store.firestore import FirestoreStore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", request.getfixturevalue("firestore_emulator"))
    # A project per test: the emulator keeps data per project, so tests never see each other's documents.
    return FirestoreStore(firestore.Client(project=f"test-{uuid.uuid4().hex[:12]}"))


def _open_store(kind: str, request, tmp_path, monkeypatch):
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SqliteStore(tmp_path / "store.sqlite3")
    return _firestore_store(request, monkeypatch)


@pytest.fixture(params=["memory", "sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def store(request, tmp_path, monkeypatch):
    """Each adapter in turn, empty."""
    opened = _open_store(request.param, request, tmp_path, monkeypatch)
    yield opened
    opened.close()


@pytest.fixture(params=["memory", "sqlite"])
def embedded_store(request, tmp_path, monkeypatch):
    """The adapters that run without the emulator, for Firestore semantics the emulator does not reproduce."""
    opened = _open_store(request.param, request, tmp_path, monkeypatch)
    yield opened
    opened.close()
