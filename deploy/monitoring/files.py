"""The files of deploy/monitoring as the APIs' own message types: log-based metrics (google.cloud.logging_v2's
LogMetric), the notification channel and alert policies (google.cloud.monitoring_v3's NotificationChannel and
AlertPolicy).

Each file is the resource in its REST JSON form written as YAML, with ${NAME} placeholders (PROJECT_ID, SERVICE,
ALERT_EMAIL). It is parsed strictly (`from_json` without ignoring unknown fields), so a misspelt field fails here,
and every metric's filter must be within the subset `log_filter` evaluates, so that its test can run it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from google.cloud.logging_v2.types import LogMetric
from google.cloud.monitoring_v3 import AlertPolicy, NotificationChannel

from deploy.monitoring import log_filter
from deploy.render import render

ROOT = Path(__file__).resolve().parent
METRICS_DIR, POLICIES_DIR, CHANNELS_DIR = ROOT / "log-metrics", ROOT / "alert-policies", ROOT / "notification-channels"
USER_METRIC_PREFIX = "logging.googleapis.com/user/"


@dataclass(frozen=True)
class Resources:
    metrics: list[LogMetric]
    channels: list[NotificationChannel]
    policies: list[AlertPolicy]


def _load(path: Path, message_type, values: dict[str, str]):
    document = yaml.safe_load(render(path.read_text(encoding="utf-8"), values))
    return message_type.from_json(json.dumps(document))


def _all(directory: Path, message_type, values: dict[str, str]) -> list:
    return [_load(path, message_type, values) for path in sorted(directory.glob("*.yaml"))]


def load(values: dict[str, str]) -> Resources:
    """Every file, placeholders filled from `values`.

    Raises:
        deploy.render.RenderError: a placeholder without a value.
        yaml.YAMLError, google.protobuf.json_format.ParseError: a file that is not its resource.
        log_filter.FilterError: a metric's filter outside the subset.
    """
    metrics = _all(METRICS_DIR, LogMetric, values)
    for metric in metrics:
        log_filter.parse(metric.filter)
    return Resources(metrics, _all(CHANNELS_DIR, NotificationChannel, values), _all(POLICIES_DIR, AlertPolicy, values))


def as_json(message) -> dict:
    """A message as the REST API's JSON (camelCase), what --dry-run prints."""
    return json.loads(type(message).to_json(message, use_integers_for_enums=False,
                                          always_print_fields_with_no_presence=False))
