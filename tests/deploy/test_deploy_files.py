"""The Cloud Run service and Cloud Scheduler job files: probes, scaling, budgets, secrets, OIDC on every job."""
import base64
import json
import re
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import yaml

from deploy import schedule_jobs
from deploy.entrypoint import settings as entrypoint_settings
from deploy.render import RenderError, render
from intents import REGISTRY
from intents.base import MAX_TIMEOUT_S
from lib.config import load_credential_settings
from tests.deploy.dockerfile import build_values
from tests.support import REPO_ROOT

SERVICE_URL = "https://ib-trading-x7k2q-ew.a.run.app"
VALUES = {"SERVICE": "ib-trading", "REGION": "europe-west1", "PROJECT_ID": "trading-p1", "TRADING_MODE": "paper",
          "IMAGE": "europe-west1-docker.pkg.dev/trading-p1/ib-trading/ib-trading:b1", "CREDENTIALS_VERSION": "3",
          "SERVICE_URL": SERVICE_URL}
SCHEDULED = {"allocation", "trade-reconciliation", "risk-check", "eod-check", "cash-balancer", "collect-market-data",
             "daily-report"}
CLOUD_RUN_STARTUP_CAP_S = 240  # failureThreshold x periodSeconds of a service's startup probe
IB_SECOND_FACTOR_PROMPT_S = 180  # IBC config.ini: SecondFactorAuthenticationTimeout, "imposed by IB"
SCHEDULER_MAX_DEADLINE_S = 1800  # Cloud Scheduler's limit for HTTP targets
# gateway JVM beyond its heap, one gunicorn worker (pandas, ib_async, Google clients), entrypoint + Xvfb + files
JVM_OVERHEAD_MB, WORKER_MB, REST_MB = 512, 256, 256


@pytest.fixture(scope="module")
def service() -> dict:
    return yaml.safe_load(render((REPO_ROOT / "deploy/cloud-run/service.yaml").read_text(), VALUES))


@pytest.fixture(scope="module")
def container(service) -> dict:
    (only,) = service["spec"]["template"]["spec"]["containers"]
    return only


def env_of(container) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"]}


def seconds(duration: str) -> float:
    assert re.fullmatch(r"\d+(\.\d+)?s", duration), duration
    return float(duration[:-1])


def megabytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


def test_the_probes_use_readyz_to_start_and_healthz_to_live(container):
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {container["startupProbe"]["httpGet"]["port"], container["livenessProbe"]["httpGet"]["port"]} == {
        container["ports"][0]["containerPort"]}


def test_the_startup_budget_covers_a_login_with_2fa_and_the_entrypoint_gives_up_inside_it(container):
    probe = container["startupProbe"]
    window_s = probe["failureThreshold"] * probe["periodSeconds"]
    budget_s = probe["initialDelaySeconds"] + window_s
    assert window_s <= CLOUD_RUN_STARTUP_CAP_S
    ready_timeout_s = float(env_of(container)["GATEWAY_READY_TIMEOUT_S"])
    assert IB_SECOND_FACTOR_PROMPT_S < ready_timeout_s < budget_s


def test_one_instance_always_on_with_cpu_always_allocated(service):
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    assert annotations["autoscaling.knative.dev/minScale"] == annotations["autoscaling.knative.dev/maxScale"] == "1"
    assert annotations["run.googleapis.com/cpu-throttling"] == "false"


def test_a_dedicated_service_account(service):
    account = service["spec"]["template"]["spec"]["serviceAccountName"]
    assert account == "ib-trading-run@trading-p1.iam.gserviceaccount.com"
    assert "-compute@developer" not in account


def test_the_request_timeout_outlasts_every_intent_budget(service):
    timeout_s = service["spec"]["template"]["spec"]["timeoutSeconds"]
    assert timeout_s >= MAX_TIMEOUT_S >= max(intent.timeout_s for intent in REGISTRY.values())


def test_memory_holds_the_gateway_jvm_and_every_worker(service, container):
    env = env_of(container)
    needed_mb = (int(env["JAVA_HEAP_MB"]) + JVM_OVERHEAD_MB + int(env["WEB_CONCURRENCY"]) * WORKER_MB + REST_MB)
    assert megabytes(container["resources"]["limits"]["memory"]) >= needed_mb
    threads = int(env["WEB_CONCURRENCY"]) * int(env["GUNICORN_THREADS"])
    assert service["spec"]["template"]["spec"]["containerConcurrency"] == threads


def test_the_login_is_a_pinned_secret_version_the_container_accepts(container):
    env = env_of(container)
    assert re.fullmatch(r"projects/trading-p1/secrets/ib-credentials-paper/versions/\d+", env["IB_CREDENTIALS_SECRET"])
    assert "IB_PASSWORD" not in env
    assert load_credential_settings(env).secret_version == env["IB_CREDENTIALS_SECRET"]
    # the image's ENV plus the service's env is what the entrypoint reads at start
    settings = entrypoint_settings.load({**build_values(), **env})
    assert settings.trading_mode == "paper" and settings.java_heap_mb == 768


def scheduler_jobs() -> dict[str, dict]:
    return {path.stem: yaml.safe_load(render(path.read_text(), VALUES))
            for path in sorted((REPO_ROOT / "deploy/scheduler-jobs").glob("*.yaml"))}


def test_there_is_one_job_per_scheduled_intent():
    assert set(scheduler_jobs()) == SCHEDULED


@pytest.mark.parametrize("intent", sorted(SCHEDULED))
def test_every_job_calls_its_intent_with_an_oidc_token_for_the_service(intent):
    job = scheduler_jobs()[intent]
    target = job["httpTarget"]
    assert job["name"] == f"projects/trading-p1/locations/europe-west1/jobs/ib-trading-{intent}"
    assert target["uri"] == f"{SERVICE_URL}/{intent}" and intent in REGISTRY
    assert target["httpMethod"] == "POST" and target["headers"]["Content-Type"] == "application/json"
    assert target["oidcToken"] == {"serviceAccountEmail": "ib-trading-scheduler@trading-p1.iam.gserviceaccount.com",
                                   "audience": SERVICE_URL}
    # the body is a request the intent's parameter model accepts (BadRequest otherwise)
    assert REGISTRY[intent].parse_params(target.get("body", {}), datetime.now(timezone.utc)) is not None


@pytest.mark.parametrize("intent", sorted(SCHEDULED))
def test_every_job_runs_on_new_york_weekdays_retries_and_outwaits_the_intent(intent):
    job = scheduler_jobs()[intent]
    assert job["timeZone"] == "America/New_York"
    minute, hour, day, month, weekday = job["schedule"].split()
    # weekdays only: the gateway's daily restart (03:30) and Sunday cold restart are outside every run
    assert weekday == "1-5" and "3" not in re.split(r"[,-]", hour)
    assert job["retryConfig"]["retryCount"] >= 1
    assert seconds(job["retryConfig"]["minBackoffDuration"]) <= seconds(job["retryConfig"]["maxBackoffDuration"])
    deadline_s = seconds(job["attemptDeadline"])
    assert REGISTRY[intent].timeout_s + 30 <= deadline_s <= SCHEDULER_MAX_DEADLINE_S


def test_the_api_requests_carry_the_body_as_base64_json():
    jobs = {job["name"]: job for job in schedule_jobs.load_jobs(VALUES)}
    allocation = jobs["projects/trading-p1/locations/europe-west1/jobs/ib-trading-allocation"]
    assert json.loads(base64.b64decode(allocation["httpTarget"]["body"])) == {"strategies": ["spymacdvixy"]}
    assert all("${" not in json.dumps(job) for job in jobs.values())


def test_the_dry_run_prints_every_job_without_credentials():
    result = subprocess.run([sys.executable, "-m", "deploy.schedule_jobs", "--project", "trading-p1", "--region",
                             "europe-west1", "--service-url", SERVICE_URL + "/", "--dry-run"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert {job["httpTarget"]["oidcToken"]["audience"] for job in printed} == {SERVICE_URL}
    assert len(printed) == len(SCHEDULED)


def test_a_template_with_a_missing_or_empty_value_is_refused():
    with pytest.raises(RenderError, match="no value for IMAGE"):
        render("image: ${IMAGE}\n", {})
    with pytest.raises(RenderError, match="empty value for CREDENTIALS_VERSION"):
        render("v: ${CREDENTIALS_VERSION}\n", {"CREDENTIALS_VERSION": ""})
    result = subprocess.run([sys.executable, "-m", "deploy.render", "deploy/cloud-run/service.yaml", "SERVICE=x"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no value for CREDENTIALS_VERSION, IMAGE" in result.stderr


def test_cloud_build_tests_then_builds_pushes_deploys_and_smoke_checks():
    build = yaml.safe_load((REPO_ROOT / "cloudbuild.yaml").read_text())
    steps = [step["id"] for step in build["steps"]]
    assert steps == ["test", "build", "push", "deploy", "smoke", "scheduler", "monitoring"]
    by_id = {step["id"]: step for step in build["steps"]}
    assert "make test" in by_id["test"]["args"][-1]
    assert "deploy.smoke" in by_id["smoke"]["args"][-1]
    assert "gcloud run services replace" in by_id["deploy"]["args"][-1]
    monitoring = by_id["monitoring"]["args"][-1]
    assert "-m deploy.monitoring --project=${PROJECT_ID} --service=${_SERVICE}" in monitoring
    assert "--alert-email=${_ALERT_EMAIL}" in monitoring and "_ALERT_EMAIL" in build["substitutions"]


def test_cloud_build_tags_every_build_in_artifact_registry():
    build = yaml.safe_load((REPO_ROOT / "cloudbuild.yaml").read_text())
    image = build["substitutions"]["_IMAGE"]
    # Artifact Registry, tagged with $BUILD_ID: manual builds have no $SHORT_SHA
    assert image.startswith("${_REGION}-docker.pkg.dev/${PROJECT_ID}/") and image.endswith(":${BUILD_ID}")
    assert "SHORT_SHA" not in (REPO_ROOT / "cloudbuild.yaml").read_text().split("steps:")[1]
    pinned = [arg.removeprefix("--build-arg=").split("=")[0] for arg in build["steps"][1]["args"]
              if arg.startswith("--build-arg=")]
    assert pinned == ["IB_GATEWAY_VERSION", "IB_GATEWAY_SHA256", "IBC_SHA256"]
