"""Creates or updates the log-based metrics, the email channel and the alert policies of deploy/monitoring.

python -m deploy.monitoring --project P --alert-email ADDRESS [--service NAME] [--dry-run]
"""
from __future__ import annotations

import argparse
import json
import sys

import yaml
from google.protobuf.json_format import ParseError

from deploy.monitoring import files, log_filter
from deploy.render import RenderError


def _report(outcome: str, kind: str, name: str) -> None:
    print(f"{outcome} {kind} {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.monitoring", description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--service", default="ib-trading", help="the Cloud Run service's name (default ib-trading)")
    parser.add_argument("--alert-email", required=True, help="the address the alerts are sent to")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each resource as it would be created or updated, call no API")
    args = parser.parse_args(argv)
    values = {"PROJECT_ID": args.project, "SERVICE": args.service, "ALERT_EMAIL": args.alert_email}
    try:
        resources = files.load(values)
    except (RenderError, yaml.YAMLError, ParseError, log_filter.FilterError) as exc:
        print(f"the monitoring files cannot be used: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps({"project": args.project,
                          "logMetrics": [files.as_json(metric) for metric in resources.metrics],
                          "notificationChannels": [files.as_json(channel) for channel in resources.channels],
                          "alertPolicies": [files.as_json(policy) for policy in resources.policies]}, indent=2))
        return 0
    from google.cloud import monitoring_v3
    from google.cloud.logging_v2.services.metrics_service_v2 import MetricsServiceV2Client

    from deploy.monitoring import apply

    apply.apply_metrics(MetricsServiceV2Client(), args.project, resources, _report)
    channels = apply.apply_channels(monitoring_v3.NotificationChannelServiceClient(), args.project, resources,
                                    _report)
    apply.apply_policies(monitoring_v3.AlertPolicyServiceClient(), args.project, resources, channels, _report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
