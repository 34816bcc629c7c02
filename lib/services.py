"""The worker's collaborators: settings, the store (opened lazily) and the IB bridge (started after fork)."""
from __future__ import annotations

import logging
import os
import threading
from typing import Callable

from lib.config import Settings
from lib.errors import GatewayUnavailable
from lib.events import settings as event_settings
from lib.events.gateway_watch import GatewayWatch
from lib.events.pubsub import PubSubPublisher, topic_path
from lib.events.sender import OutboxSender
from lib.gateway.bridge import IBBridge
from lib.gateway.client_ids import worker_client_ids
from lib.notify.webhook import WebhookNotifier
from lib.store.factory import open_store
from lib.trading.cancel_requests import CancelRequestServer

log = logging.getLogger(__name__)


def open_configured_store(settings: Settings):
    """The store adapter the settings name."""
    return open_store(settings.store_backend, path=settings.store_path, project_id=settings.project_id)


def build_bridge(settings: Settings, worker_index: int):
    """An unstarted bridge that takes a clientId of the service's pool, this worker's own slot first."""
    return IBBridge(
        host=settings.ib_host,
        port=settings.ib_port,
        client_ids=worker_client_ids(settings.ib_client_id_base, settings.workers, worker_index),
        connect_timeout_s=settings.ib_connect_timeout_s,
    )


class Services:
    """What intents need, built once per worker process.

    Parameters:
        settings: process Settings.
        store: an open DocumentStore, or None to open the configured one on first use.
        bridge: a started IBBridge, or None until `start()` runs in the worker.
        store_factory: how to open the store lazily (defaults to `open_configured_store`).
    """

    def __init__(self, settings: Settings, *, store=None, bridge=None,
                 store_factory: Callable[[Settings], object] = open_configured_store):
        self.settings = settings
        self._store = store
        self._store_factory = store_factory
        self._store_lock = threading.Lock()
        self._bridge = bridge
        self._cancel_server: CancelRequestServer | None = None
        self._background: list = []

    @property
    def store(self):
        with self._store_lock:
            if self._store is None:
                self._store = self._store_factory(self.settings)
            return self._store

    @property
    def bridge(self):
        if self._bridge is None:
            raise GatewayUnavailable("the IB bridge has not been started in this process")
        return self._bridge

    def status(self) -> dict:
        if self._bridge is None:
            return {"connected": False, "ready": False, "lastError": "bridge not started"}
        return self._bridge.status()

    def wait_ready(self) -> None:
        """Give a reconnecting gateway a short grace period, then fail with 503."""
        if not self.bridge.wait_ready(self.settings.ready_wait_s):
            status = self.bridge.status()
            raise GatewayUnavailable(f"IB Gateway at {self.settings.ib_host}:{self.settings.ib_port} is not ready"
                                     f" ({status.get('lastError') or 'connecting'})")

    def start(self, worker_index: int) -> None:
        """Start this worker's bridge, and the thread that serves other workers' cancel requests for the orders of
        its clientId; called after fork, never in the gunicorn master."""
        if self._bridge is None:
            self._bridge = build_bridge(self.settings, worker_index)
            self._bridge.start()
            log.info("IB bridge started", extra={"fields": {"workerIndex": worker_index}})
        if self._cancel_server is None:
            self._cancel_server = CancelRequestServer(lambda: self.store, self.settings.trading_mode, self._bridge)
            self._cancel_server.start()
        self.start_events(event_settings.load(os.environ))

    def start_events(self, events: event_settings.EventSettings) -> None:
        """This worker's threads that deliver the outbox (to Pub/Sub when a topic is set, to the configured webhook)
        and watch the gateway: their own threads, so no delivery blocks a run or the IB loop."""
        if self._background:
            return
        mode = self.settings.trading_mode

        def store():
            return self.store  # opened on first use, in the thread

        if events.topic:
            publisher = PubSubPublisher(topic_path(events.topic, self.settings.project_id))
            self._background.append(OutboxSender(store, "pubsub", mode, publisher))
        notifier = WebhookNotifier(store, mode, events.dashboard_url)
        self._background.append(OutboxSender(store, "webhook", mode, notifier, enabled=notifier.configured))
        self._background.append(GatewayWatch(store, mode, self.status, events.gateway_alert_s))
        for worker in self._background:
            worker.start()
        log.info("event delivery started", extra={"fields": {"eventsTopic": events.topic,
                                                             "channels": [w.channel for w in self._background
                                                                          if hasattr(w, "channel")]}})

    def stop(self) -> None:
        if self._cancel_server is not None:
            self._cancel_server.stop()
        for worker in self._background:
            worker.stop()
        if self._bridge is not None:
            self._bridge.stop()
        if self._store is not None:
            self._store.close()
