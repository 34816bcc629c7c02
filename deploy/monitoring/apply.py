"""Creates or updates deploy/monitoring's resources through the Logging and Monitoring APIs: log-based metrics by
name, the notification channel and alert policies by display name, so running it again changes nothing new."""
from __future__ import annotations

from google.api_core import exceptions
from google.api_core.retry import Retry, if_exception_type

from deploy.monitoring.files import Resources

# A log-based metric just created is not yet known to Monitoring, which refuses a policy on it for a while
POLICY_RETRY = Retry(predicate=if_exception_type(exceptions.InvalidArgument, exceptions.NotFound), initial=5.0,
                     maximum=30.0, timeout=300.0)


def apply_metrics(client, project: str, resources: Resources, report) -> None:
    """`client`: google.cloud.logging_v2's MetricsServiceV2Client."""
    for metric in resources.metrics:
        path = f"projects/{project}/metrics/{metric.name}"
        try:
            client.get_log_metric(metric_name=path)
        except exceptions.NotFound:
            client.create_log_metric(parent=f"projects/{project}", metric=metric)
            report("created", "log metric", metric.name)
        else:
            client.update_log_metric(metric_name=path, metric=metric)
            report("updated", "log metric", metric.name)


def apply_channels(client, project: str, resources: Resources, report) -> list[str]:
    """`client`: monitoring_v3's NotificationChannelServiceClient. Returns the channels' resource names."""
    existing = {channel.display_name: channel for channel in client.list_notification_channels(
        name=f"projects/{project}")}
    names = []
    for channel in resources.channels:
        found = existing.get(channel.display_name)
        if found is None:
            created = client.create_notification_channel(name=f"projects/{project}", notification_channel=channel)
            names.append(created.name)
            report("created", "notification channel", channel.display_name)
        else:
            channel.name = found.name
            client.update_notification_channel(notification_channel=channel)
            names.append(found.name)
            report("updated", "notification channel", channel.display_name)
    return names


def apply_policies(client, project: str, resources: Resources, channels: list[str], report) -> None:
    """`client`: monitoring_v3's AlertPolicyServiceClient. Each policy notifies `channels`."""
    existing = {policy.display_name: policy for policy in client.list_alert_policies(name=f"projects/{project}")}
    for policy in resources.policies:
        policy.notification_channels = channels
        found = existing.get(policy.display_name)
        if found is None:
            client.create_alert_policy(name=f"projects/{project}", alert_policy=policy, retry=POLICY_RETRY)
            report("created", "alert policy", policy.display_name)
        else:
            # without an update mask the policy is replaced by the file's, conditions included
            policy.name = found.name
            client.update_alert_policy(alert_policy=policy, retry=POLICY_RETRY)
            report("updated", "alert policy", policy.display_name)
