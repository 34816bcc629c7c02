"""Fixtures of the deployment tests: a Secret Manager gRPC server on loopback, and the container's entrypoint."""
from __future__ import annotations

import pytest

from tests.deploy.entrypoint_process import EntrypointProcess
from tests.support.secret_manager import SecretManagerServer
from tests.support.seeding import seed_sqlite


@pytest.fixture
def secret_manager():
    """A Secret Manager server on 127.0.0.1 with no secrets yet; stopped after the test."""
    server = SecretManagerServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def entrypoint(tmp_path, request):
    """Factory: a seeded store and the entrypoint over it, stopped (with anything left of its tree) after the test."""

    def start(**options) -> EntrypointProcess:
        seed_sqlite(tmp_path / "store.sqlite3")
        process = EntrypointProcess(tmp_path, **options)
        request.addfinalizer(process.stop)
        return process.start()

    return start
