"""Creates or updates the Cloud Scheduler jobs of deploy/scheduler-jobs/ through the Cloud Scheduler API.

python -m deploy.schedule_jobs --project P --region R --service-url URL [--service NAME] [--dry-run]

Each file is a v1 Job resource with its HTTP body written as YAML; here it is rendered, the body encoded as the
API wants it (base64 JSON), and the job created when missing or updated in place, so running it again is harmless.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import yaml

from deploy.render import RenderError, render

JOBS_DIR = Path(__file__).resolve().parent / "scheduler-jobs"
API = "https://cloudscheduler.googleapis.com/v1"
UPDATE_MASK = "description,schedule,timeZone,attemptDeadline,retryConfig,httpTarget"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TIMEOUT_S = 30


def load_jobs(values: dict[str, str], jobs_dir: Path = JOBS_DIR) -> list[dict]:
    """The jobs of `jobs_dir` as the API takes them, placeholders filled from `values`."""
    jobs = []
    for path in sorted(jobs_dir.glob("*.yaml")):
        job = yaml.safe_load(render(path.read_text(encoding="utf-8"), values))
        target = job["httpTarget"]
        if "body" in target:
            target["body"] = base64.b64encode(json.dumps(target["body"]).encode()).decode()
        jobs.append(job)
    return jobs


def apply(session, job: dict) -> str:
    """Create the job, or update it when it exists; returns "created" or "updated".

    Raises:
        RuntimeError: the API refused, with its answer.
    """
    url = f"{API}/{job['name']}"
    existing = session.get(url, timeout=TIMEOUT_S)
    if existing.status_code == 404:
        parent = job["name"].rsplit("/jobs/", 1)[0]
        response, outcome = session.post(f"{API}/{parent}/jobs", json=job, timeout=TIMEOUT_S), "created"
    elif existing.ok:
        response, outcome = session.patch(url, params={"updateMask": UPDATE_MASK}, json=job, timeout=TIMEOUT_S), \
            "updated"
    else:
        response, outcome = existing, "read"
    if not response.ok:
        raise RuntimeError(f"{job['name']}: {outcome} failed with HTTP {response.status_code}: {response.text}")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.schedule_jobs", description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True, help="a Cloud Scheduler location, e.g. europe-west1")
    parser.add_argument("--service", default="ib-trading", help="the Cloud Run service's name (default ib-trading)")
    parser.add_argument("--service-url", required=True, help="the service's https URL, also the OIDC audience")
    parser.add_argument("--dry-run", action="store_true", help="print the API requests' bodies, change nothing")
    args = parser.parse_args(argv)
    values = {"PROJECT_ID": args.project, "REGION": args.region, "SERVICE": args.service,
              "SERVICE_URL": args.service_url.rstrip("/")}
    try:
        jobs = load_jobs(values)
    except (RenderError, yaml.YAMLError) as exc:
        print(f"the job files cannot be used: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(jobs, indent=2))
        return 0
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=[SCOPE])
    session = AuthorizedSession(credentials)
    for job in jobs:
        print(f"{apply(session, job)} {job['name']} ({job['schedule']} {job['timeZone']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
