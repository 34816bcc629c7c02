"""Where events go, read once from the environment: the Pub/Sub topic (off when unset), the dashboard's address for
links in messages, and how long a gateway may stay not ready before it is an event."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

DEFAULT_GATEWAY_ALERT_S = 300.0


@dataclass(frozen=True)
class EventSettings:
    """Parameters:
        topic: `EVENTS_TOPIC`, `projects/P/topics/T` or a topic of PROJECT_ID; None leaves Pub/Sub off.
        dashboard_url: `DASHBOARD_URL`, the service's public address (Cloud Run's URL) for links to runs.
        gateway_alert_s: `GATEWAY_ALERT_AFTER_S`, seconds the gateway may be not ready before `gateway.down`.
    """

    topic: str | None = None
    dashboard_url: str = ""
    gateway_alert_s: float = DEFAULT_GATEWAY_ALERT_S


def load(environ: Mapping[str, str]) -> EventSettings:
    raw = environ.get("GATEWAY_ALERT_AFTER_S", "").strip()
    try:
        alert_s = float(raw) if raw else DEFAULT_GATEWAY_ALERT_S
    except ValueError:
        raise ValueError(f"GATEWAY_ALERT_AFTER_S must be a number of seconds, got {raw!r}") from None
    if alert_s <= 0:
        raise ValueError(f"GATEWAY_ALERT_AFTER_S must be positive, got {raw!r}")
    return EventSettings(topic=environ.get("EVENTS_TOPIC", "").strip() or None,
                         dashboard_url=environ.get("DASHBOARD_URL", "").strip().rstrip("/"),
                         gateway_alert_s=alert_s)
