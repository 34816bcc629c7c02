"""Fixtures every test package may use: Google's Firestore and Pub/Sub emulators on loopback, started once per run."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.support import shared_emulators
from tests.support.firestore_emulator import EmulatorUnavailable, FirestoreEmulator, missing_tools

pytest_plugins = ("tests.support.fixtures",)


def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):
        shared_emulators.open_run_directory()


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput"):
        shared_emulators.close_run_directory()


# where each test starts servers of its own (a simulator, gunicorn, the entrypoint): the files that take longest
SERVER_TEST_DIRECTORIES = ("e2e", "deploy", "simulator/acceptance")


def pytest_collection_modifyitems(items) -> None:
    """The files that take longest go first, since pytest-xdist hands out whole files in this order (the Makefile
    keeps it with --no-loadscope-reorder) and a long one started last would run alone at the end: the files of
    `slow` tests by the seconds their marks add up to, then those whose tests start servers, then the rest, each
    the more tests the sooner."""
    tests_root = Path(__file__).parent
    slow_seconds, counts = Counter(), Counter()
    for item in items:
        counts[item.path] += 1
        mark = item.get_closest_marker("slow")
        if mark is not None:
            slow_seconds[item.path] += mark.kwargs["seconds"]

    def expected_length(item):
        directory = item.path.parent.relative_to(tests_root).as_posix()
        starts_servers = any(directory == d or directory.startswith(f"{d}/") for d in SERVER_TEST_DIRECTORIES)
        return -slow_seconds[item.path], not starts_servers, -counts[item.path], str(item.path)

    items.sort(key=expected_length)


def pytest_report_header(config) -> str:
    missing = missing_tools()
    if missing:
        return (f"firestore: {' and '.join(missing)} not found: tests marked `firestore` will fail "
                "(see docs/development.md, Tests; `-m 'not firestore'` skips them)")
    return "firestore: tests marked `firestore` run on Google's Cloud Firestore emulator (gcloud, started on first use)"


def _shared(emulator_class, key: str):
    """The run's emulator (tests.support.shared_emulators), failing the test that needs it with the reason it
    cannot start."""
    try:
        return shared_emulators.shared(emulator_class, key)
    except EmulatorUnavailable as exc:
        pytest.fail(f"Google's {emulator_class.name} emulator is not available: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def firestore_emulator() -> FirestoreEmulator:
    """Google's Cloud Firestore emulator on a free loopback port, one for the whole run."""
    return _shared(FirestoreEmulator, "firestore")


@pytest.fixture
def firestore_project(firestore_emulator, monkeypatch) -> str:
    """A fresh project id on the emulator, with FIRESTORE_EMULATOR_HOST set for this test; emptied afterwards."""
    from tests.support.firestore_emulator import new_project_id

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.address)
    project = new_project_id()
    yield project
    firestore_emulator.reset(project)


@pytest.fixture
def open_firestore(firestore_project):
    """Factory for FirestoreStores on this test's project (each its own client), closed after the test."""
    from google.cloud import firestore

    from lib.store.firestore import FirestoreStore

    opened = []

    def open_store(**options) -> FirestoreStore:
        store = FirestoreStore(firestore.Client(project=firestore_project), **options)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture(scope="session")
def pubsub_emulator():
    """Google's Pub/Sub emulator on a free loopback port, one for the whole run."""
    from tests.support.pubsub_emulator import PubSubEmulator

    return _shared(PubSubEmulator, "pubsub")


@pytest.fixture
def pubsub_topic(pubsub_emulator, monkeypatch):
    """A topic with one subscription on a project of its own, PUBSUB_EMULATOR_HOST set for this test."""
    from tests.support.pubsub_emulator import Topic

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.address)
    topic = Topic()
    yield topic
    topic.close()


@pytest.fixture
def webhook_server(request):
    """A local chat webhook (tests/support/webhook_server.py) on a free loopback port, stopped after the test."""
    from tests.support.webhook_server import WebhookServer

    server = WebhookServer(**getattr(request, "param", {}))
    request.addfinalizer(server.stop)
    return server.start()
