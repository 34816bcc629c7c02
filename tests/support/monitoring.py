"""deploy/monitoring's log-based metrics run over the JSON lines a process wrote, as Cloud Logging would see them."""
from __future__ import annotations

from deploy.monitoring import files, log_filter

SERVICE = "ib-trading"
VALUES = {"PROJECT_ID": "trading-p1", "SERVICE": SERVICE, "ALERT_EMAIL": "alerts@example.test"}


def metric_filters() -> dict[str, log_filter.Node]:
    """Each metric's parsed filter by its short name ("risk-alert" for ib-trading-risk-alert)."""
    return {metric.name.removeprefix(f"{SERVICE}-"): log_filter.parse(metric.filter)
            for metric in files.load(VALUES).metrics}


def counted(metric: str, lines: list[dict]) -> list[dict]:
    """The lines the metric `metric` counts."""
    node = metric_filters()[metric]
    return [line for line in lines if log_filter.matches(node, log_filter.cloud_run_entry(line, SERVICE))]
