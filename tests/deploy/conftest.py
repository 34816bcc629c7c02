"""Fixtures of the deployment tests: a Secret Manager gRPC server on loopback."""
from __future__ import annotations

import pytest

from tests.support.secret_manager import SecretManagerServer


@pytest.fixture
def secret_manager():
    """A Secret Manager server on 127.0.0.1 with no secrets yet; stopped after the test."""
    server = SecretManagerServer().start()
    try:
        yield server
    finally:
        server.stop()
