"""Google's Pub/Sub emulator (`gcloud beta emulators pubsub start`, Java) on a free loopback port, for tests of the
event publisher: a topic per test and a subscription that collects what was published to it."""
from __future__ import annotations

import json
import time
import uuid

from tests.support.firestore_emulator import FirestoreEmulator

INSTALL_HINT = ("install the Google Cloud CLI and its Pub/Sub emulator: `gcloud components install pubsub-emulator "
                "beta`, or on Debian/Ubuntu with Google's apt repository `apt-get install "
                "google-cloud-cli-pubsub-emulator`; it needs Java 8 or newer")


class PubSubEmulator(FirestoreEmulator):
    """The same process handling as the Firestore emulator's (a process group of its own, always stopped); the
    emulator answers `Ok` on its HTTP root once it listens."""

    name = "Pub/Sub"
    gcloud_args = ("beta", "emulators", "pubsub", "start")
    install_hint = INSTALL_HINT


class Topic:
    """A topic and one subscription to it on the emulator (the client libraries find it by PUBSUB_EMULATOR_HOST)."""

    def __init__(self, project_id: str | None = None):
        from google.cloud import pubsub_v1

        self.project_id = project_id or f"events-{uuid.uuid4().hex[:10]}"
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.path = self.publisher.topic_path(self.project_id, "events")
        self.subscription = self.subscriber.subscription_path(self.project_id, "test")
        self.publisher.create_topic(name=self.path)
        self.subscriber.create_subscription(name=self.subscription, topic=self.path)
        self.received: list[dict] = []

    def pull(self) -> list[dict]:
        """Whatever arrived since the last pull (acknowledged), added to `received`: {attributes, data}."""
        from google.api_core.exceptions import DeadlineExceeded

        try:
            response = self.subscriber.pull(subscription=self.subscription, max_messages=100, timeout=1)
        except DeadlineExceeded:
            return []
        if response.received_messages:
            self.subscriber.acknowledge(subscription=self.subscription,
                                        ack_ids=[m.ack_id for m in response.received_messages])
        messages = [{"attributes": dict(m.message.attributes), "data": json.loads(m.message.data)}
                    for m in response.received_messages]
        self.received += messages
        return messages

    def collect(self, condition, *, timeout_s: float = 20.0) -> list[dict]:
        """Pull until condition(received) holds, then once more to catch any duplicate on its way; `received`."""
        deadline = time.monotonic() + timeout_s
        while not condition(self.received):
            if time.monotonic() > deadline:
                raise AssertionError(f"the subscription received {self.received} within {timeout_s} s")
            self.pull()
        self.pull()
        return self.received

    def close(self) -> None:
        self.subscriber.close()
        self.publisher.transport.close()
