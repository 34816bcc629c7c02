"""deploy/monitoring: every file parses into the Logging and Monitoring APIs' types, every policy watches a metric
defined here, the filter subset is evaluated as Cloud Logging reads it, and applying twice creates nothing twice.
Whether each filter matches the line its scenario writes is checked where the scenarios run: tests/e2e/test_events.py
(the service's alerts) and tests/deploy/test_entrypoint_2fa.py (the gateway's login)."""
import json
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
from google.api_core import exceptions
from google.cloud.logging_v2.types import LogMetric
from google.cloud.monitoring_v3 import AlertPolicy, NotificationChannel
from google.protobuf.json_format import ParseError

from deploy.monitoring import apply, files, log_filter
from tests.support import REPO_ROOT
from tests.support.monitoring import SERVICE, VALUES, metric_filters

ALERTS = {"risk-alert", "run-failed", "ledger-difference", "order-rejected", "gateway-down", "gateway-2fa"}
METRIC_TYPE = re.compile(r'metric\.type="logging\.googleapis\.com/user/([^"]+)"')


@pytest.fixture(scope="module")
def resources() -> files.Resources:
    return files.load(VALUES)


def test_every_file_is_its_api_type(resources):
    assert all(isinstance(metric, LogMetric) for metric in resources.metrics)
    assert all(isinstance(policy, AlertPolicy) for policy in resources.policies)
    [channel] = resources.channels
    assert isinstance(channel, NotificationChannel)
    assert channel.type_ == "email" and channel.labels["email_address"] == VALUES["ALERT_EMAIL"]
    count = sum(1 for folder in (files.METRICS_DIR, files.POLICIES_DIR, files.CHANNELS_DIR)
                for _ in folder.glob("*.yaml"))
    assert count == len(resources.metrics) + len(resources.policies) + 1
    assert not any("${" in json.dumps(files.as_json(m)) for m in resources.metrics + resources.policies)


def test_a_misspelt_field_fails(tmp_path):
    text = (files.POLICIES_DIR / "risk-alert.yaml").read_text().replace("thresholdValue:", "treshold_value:")
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    with pytest.raises(ParseError, match="treshold_value"):
        files._load(path, AlertPolicy, VALUES)


def test_one_metric_and_one_policy_per_notified_alert_and_a_run_succeeded_metric(resources):
    names = {metric.name.removeprefix(f"{SERVICE}-") for metric in resources.metrics}
    assert names == ALERTS | {"run-succeeded"}
    watched = {}
    for policy in resources.policies:
        [condition] = policy.conditions
        assert policy.display_name.startswith(f"{SERVICE}: ") and "Runbook" in policy.documentation.content
        if "condition_threshold" in condition:
            [metric] = METRIC_TYPE.findall(condition.condition_threshold.filter)
            assert condition.condition_threshold.comparison.name == "COMPARISON_GT"
            watched[metric.removeprefix(f"{SERVICE}-")] = policy
        else:
            query = condition.condition_prometheus_query_language.query
            assert f'"logging.googleapis.com/user/{SERVICE}-run-succeeded"' in query
            watched["run-succeeded"] = policy
    assert set(watched) == names
    assert len({policy.display_name for policy in resources.policies}) == len(resources.policies)


def test_every_filter_is_in_the_subset_and_names_the_service(resources):
    for metric in resources.metrics:
        node = log_filter.parse(metric.filter)
        assert isinstance(node, log_filter.Junction) and node.op == "AND"
        assert log_filter.Comparison(("resource", "labels", "service_name"), "=", SERVICE) in node.parts


@pytest.mark.parametrize("text", ['jsonPayload.event="a" jsonPayload.b="c"', 'NOT jsonPayload.event="a"',
                                  'jsonPayload.event!="a"', 'severity>=ERROR', '(jsonPayload.a="b"',
                                  'jsonPayload.a=~"b"'])
def test_a_filter_outside_the_subset_is_refused(text):
    with pytest.raises(log_filter.FilterError):
        log_filter.parse(text)


def test_the_evaluator_reads_or_before_and_and_compares_like_cloud_logging():
    entry = log_filter.cloud_run_entry({"severity": "ERROR", "message": "order 1-7 rejected", "event": "orderRejected",
                                        "time": "t", "n": 3, "ok": True, "trigger": {"kind": "scheduler"}}, SERVICE)
    assert entry["severity"] == "ERROR" and "severity" not in entry["jsonPayload"]
    assert entry["resource"] == {"type": "cloud_run_revision", "labels": {"service_name": SERVICE}}

    def check(text):
        return log_filter.matches(log_filter.parse(text), entry)

    assert check('jsonPayload.event="x" OR jsonPayload.event="orderRejected" AND severity="ERROR"')
    # OR binds tighter: this is event="orderRejected" AND (severity="INFO" OR event="x"), false
    assert not check('jsonPayload.event="orderRejected" AND severity="INFO" OR jsonPayload.event="x"')
    assert check('jsonPayload.message:"rejected" AND jsonPayload.n=3 AND jsonPayload.ok=true')
    assert check('jsonPayload.trigger.kind="scheduler"')
    assert not check('jsonPayload.n="x"') and not check('jsonPayload.missing.deeper="x"')
    assert not check('jsonPayload.ok=false') and not check('jsonPayload.message:"Rejected"')


def test_the_dry_run_prints_every_resource_without_credentials():
    result = subprocess.run([sys.executable, "-m", "deploy.monitoring", "--project", "trading-p1", "--alert-email",
                             "alerts@example.test", "--dry-run"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert {m["name"] for m in printed["logMetrics"]} == {f"ib-trading-{name}" for name in metric_filters()}
    assert printed["notificationChannels"][0]["labels"] == {"email_address": "alerts@example.test"}
    assert len(printed["alertPolicies"]) == len(ALERTS) + 1


class FakeApis:
    """The three clients' methods apply uses, over dicts, like the APIs: names are given on create."""

    def __init__(self):
        self.metrics, self.channels, self.policies, self.calls = {}, {}, {}, []

    def get_log_metric(self, metric_name):
        if metric_name not in self.metrics:
            raise exceptions.NotFound(metric_name)
        return self.metrics[metric_name]

    def create_log_metric(self, parent, metric):
        self.calls.append("create metric")
        self.metrics[f"{parent}/metrics/{metric.name}"] = metric

    def update_log_metric(self, metric_name, metric):
        self.calls.append("update metric")
        self.metrics[metric_name] = metric

    def list_notification_channels(self, name):
        return list(self.channels.values())

    def create_notification_channel(self, name, notification_channel):
        self.calls.append("create channel")
        created = NotificationChannel(notification_channel, name=f"{name}/notificationChannels/{len(self.channels)}")
        self.channels[created.name] = created
        return created

    def update_notification_channel(self, notification_channel):
        self.calls.append("update channel")
        self.channels[notification_channel.name] = notification_channel

    def list_alert_policies(self, name):
        return list(self.policies.values())

    def create_alert_policy(self, name, alert_policy, retry):
        self.calls.append("create policy")
        created = AlertPolicy(alert_policy, name=f"{name}/alertPolicies/{len(self.policies)}")
        self.policies[created.name] = created

    def update_alert_policy(self, alert_policy, retry):
        self.calls.append("update policy")
        self.policies[alert_policy.name] = alert_policy


def test_applying_twice_updates_what_exists_by_name():
    apis, reported = FakeApis(), []

    def run():
        resources = files.load(VALUES)
        apply.apply_metrics(apis, "trading-p1", resources, lambda *r: reported.append(r))
        channels = apply.apply_channels(apis, "trading-p1", resources, lambda *r: reported.append(r))
        apply.apply_policies(apis, "trading-p1", resources, channels, lambda *r: reported.append(r))
        return SimpleNamespace(metrics=len(resources.metrics), policies=len(resources.policies))

    counts = run()
    first = list(apis.calls)
    assert first.count("create metric") == counts.metrics and first.count("create policy") == counts.policies
    assert first.count("create channel") == 1 and not any(call.startswith("update") for call in first)
    apis.calls.clear()
    run()
    assert not any(call.startswith("create") for call in apis.calls)
    assert len(apis.metrics) == counts.metrics and len(apis.policies) == counts.policies and len(apis.channels) == 1
    [channel] = apis.channels
    assert all(list(policy.notification_channels) == [channel] for policy in apis.policies.values())
    assert ("updated", "alert policy", f"{SERVICE}: drawdown past the daily limit") in reported
