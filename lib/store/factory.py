"""Opening the configured store adapter; the Firestore client library is imported only when it is chosen."""
from __future__ import annotations

import os

from lib.store.port import DocumentStore
from lib.store.sqlite import SqliteStore

BACKENDS = ("sqlite", "firestore")


def open_store(backend: str, *, path: str = "", project_id: str | None = None) -> DocumentStore:
    """A DocumentStore: SQLite in the file at `path` (its directory created), or Firestore in `project_id`.

    Raises:
        ValueError: an unknown backend.
    """
    if backend == "firestore":
        # google.cloud.firestore loads gRPC and protobuf stacks: only a Firestore deployment pays for them
        from google.cloud import firestore

        from lib.store.firestore import FirestoreStore

        return FirestoreStore(firestore.Client(project=project_id))
    if backend != "sqlite":
        raise ValueError(f"store backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    return SqliteStore(path)
