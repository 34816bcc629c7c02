"""The post-deploy smoke check: `python -m deploy.smoke URL` (or `make smoke URL=...`).

It asks the deployed service for /readyz, GET / (the gateway's clock), /summary and a dry-run allocation, prints one
line per check and exits 1 when any fails. An https URL is a Cloud Run service that needs roles/run.invoker: each
request then carries a Google ID token for the URL, from SMOKE_ID_TOKEN when set (e.g.
`SMOKE_ID_TOKEN=$(gcloud auth print-identity-token)` for a person), else from the runtime's service account.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable

from google.auth.exceptions import GoogleAuthError

EXIT_OK, EXIT_FAILED = 0, 1
REQUEST_TIMEOUT_S = 130  # a dry-run allocation may use its whole 120 s budget
READY_POLL_S = 2.0


@dataclass
class Result:
    """One check: what was asked, what came back, and a line saying what it shows."""

    method: str
    path: str
    status: int | None
    elapsed_s: float
    passed: bool
    detail: str

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        status = "---" if self.status is None else str(self.status)
        return f"  {verdict}  {self.method:<4} {self.path:<12} {status}  {self.elapsed_s:6.2f} s  {self.detail}"


def fetch_id_token(audience: str) -> str:
    """A Google ID token for `audience`: SMOKE_ID_TOKEN, or one from the runtime's credentials (metadata server,
    or a service account key in GOOGLE_APPLICATION_CREDENTIALS)."""
    token = os.environ.get("SMOKE_ID_TOKEN", "").strip()
    if token:
        return token
    import google.auth.transport.requests
    import google.oauth2.id_token

    return google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)


def auth_headers(base_url: str, token_for: Callable[[str], str] = fetch_id_token) -> dict[str, str]:
    """Authorization for an https (Cloud Run) URL; none for plain http (a local service)."""
    if urllib.parse.urlsplit(base_url).scheme != "https":
        return {}
    return {"Authorization": f"Bearer {token_for(base_url)}"}


def call(base_url: str, method: str, path: str, headers: dict, body: dict | None = None) -> tuple[int | None, object,
                                                                                                 float]:
    """(status, decoded body or error text, seconds); status None when no HTTP answer came."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={**headers, "Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return None, f"no answer: {getattr(error, 'reason', error)}", time.monotonic() - started
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        payload = raw.decode(errors="replace")[:200]
    return status, payload, time.monotonic() - started


def _error_of(payload) -> str:
    return payload.get("error", json.dumps(payload)[:200]) if isinstance(payload, dict) else str(payload)


def check_ready(base_url: str, headers: dict, wait_s: float) -> Result:
    """/readyz until 200 or `wait_s` passed: each worker has its own gateway connection and may still connect."""
    deadline = time.monotonic() + wait_s
    while True:
        status, payload, elapsed_s = call(base_url, "GET", "/readyz", headers)
        if status == 200:
            detail = f"ready (worker pid {payload.get('pid')}, clientId {payload.get('clientId')})"
            return Result("GET", "/readyz", status, elapsed_s, True, detail)
        if time.monotonic() + READY_POLL_S > deadline:
            detail = payload.get("lastError") if isinstance(payload, dict) and "lastError" in payload else None
            return Result("GET", "/readyz", status, elapsed_s, False,
                          f"not ready after {wait_s:.0f} s: {detail or _error_of(payload)}")
        time.sleep(READY_POLL_S)


def check_gateway_time(base_url: str, headers: dict) -> Result:
    status, payload, elapsed_s = call(base_url, "GET", "/", headers)
    passed = status == 200 and isinstance(payload, dict) and "gatewayTime" in payload
    detail = (f"gateway time {payload['gatewayTime']}, {payload.get('tradingMode')} trading" if passed
              else _error_of(payload))
    return Result("GET", "/", status, elapsed_s, passed, detail)


def check_summary(base_url: str, headers: dict) -> Result:
    status, payload, elapsed_s = call(base_url, "GET", "/summary", headers)
    passed = status == 200 and isinstance(payload, dict) and {"accountSummary", "portfolio"} <= set(payload)
    if passed:
        detail = (f"{len(payload['portfolio'])} position(s), {len(payload.get('openTrades', []))} open order(s), "
                  f"{len(payload.get('fills', []))} fill(s) today")
    else:
        detail = _error_of(payload)
    return Result("GET", "/summary", status, elapsed_s, passed, detail)


def check_dry_run(base_url: str, headers: dict, strategy: str) -> Result:
    """A dry-run allocation: the whole path from market data to sized orders, placing nothing."""
    body = {"strategies": [strategy], "dryRun": True}
    status, payload, elapsed_s = call(base_url, "POST", "/allocation", headers, body)
    if status != 200 or not isinstance(payload, dict):
        return Result("POST", "/allocation", status, elapsed_s, False, _error_of(payload))
    errors = payload.get("errors") or {}
    passed = payload.get("status") in ("dryRun", "aborted") and not errors
    detail = (f"{payload.get('status')}: {len(payload.get('consolidatedTrades', []))} order(s) planned for "
              f"{strategy}" if passed else f"{payload.get('status')}: {errors or payload.get('reason')}")
    return Result("POST", "/allocation", status, elapsed_s, passed, detail)


def run_checks(base_url: str, headers: dict, *, strategy: str, wait_s: float) -> list[Result]:
    return [check_ready(base_url, headers, wait_s), check_gateway_time(base_url, headers),
            check_summary(base_url, headers), check_dry_run(base_url, headers, strategy)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the service's base URL, e.g. https://ib-trading-xyz-ew.a.run.app")
    parser.add_argument("--strategy", default="spymacdvixy", help="the strategy of the dry-run allocation")
    parser.add_argument("--wait-s", type=float, default=60.0, help="how long /readyz may take to answer 200")
    args = parser.parse_args(argv)
    base_url = args.url.rstrip("/")
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        parser.error(f"the URL must start with https:// (or http:// for a local service), got {args.url!r}")
    print(f"smoke check of {base_url}")
    try:
        headers = auth_headers(base_url)
    except GoogleAuthError as exc:
        print(f"  FAIL  no Google ID token for {base_url}: {type(exc).__name__}: {exc}")
        print("  (a person can run: SMOKE_ID_TOKEN=$(gcloud auth print-identity-token) make smoke URL=...)")
        return EXIT_FAILED
    results = run_checks(base_url, headers, strategy=args.strategy, wait_s=args.wait_s)
    for result in results:
        print(result.line())
    passed = sum(result.passed for result in results)
    print(f"{passed} of {len(results)} checks passed" + ("" if passed == len(results) else ": the deploy is NOT OK"))
    return EXIT_OK if passed == len(results) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
