"""Delivery of outbox events to a Pub/Sub topic (google-cloud-pubsub), the event id as an attribute.

A consumer de-duplicates by the `eventId` attribute: an event whose publish succeeded but whose worker died before
the outbox recorded it is published again by the next sender (at least once into the topic, exactly once per id).
"""
from __future__ import annotations

import json

from lib.events.outbox import SENT, Event

PUBLISH_TIMEOUT_S = 5.0


def topic_path(topic: str, project_id: str | None) -> str:
    """`projects/P/topics/T` as given, or a bare topic name in the service's project."""
    if topic.startswith("projects/"):
        return topic
    if not project_id:
        raise ValueError(f"EVENTS_TOPIC {topic!r} is a bare name: set PROJECT_ID or give projects/P/topics/T")
    return f"projects/{project_id}/topics/{topic}"


class PubSubPublisher:
    """Publishes one event per message: the event's JSON as data, `eventId`, `kind` and `mode` as attributes.

    The client is made on first use (never at import, and after fork: gRPC channels do not survive a fork).
    """

    def __init__(self, topic: str, *, client=None, timeout_s: float = PUBLISH_TIMEOUT_S):
        self.topic = topic
        self._client = client
        self.timeout_s = timeout_s

    @property
    def client(self):
        if self._client is None:
            from google.cloud import pubsub_v1

            self._client = pubsub_v1.PublisherClient()
        return self._client

    def __call__(self, event: Event) -> str:
        data = json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        future = self.client.publish(self.topic, data, eventId=event.id, kind=event.kind, mode=event.mode)
        future.result(timeout=self.timeout_s)
        return SENT
