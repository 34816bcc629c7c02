"""The smoke check against the service under gunicorn with the simulator, as after a deploy."""
import re
import subprocess
import sys

import pytest

from deploy.smoke import auth_headers, fetch_id_token
from tests.support import REPO_ROOT
from tests.support.seeding import ACCOUNT, seed_sqlite
from tests.support.service_process import ServiceProcess


@pytest.fixture
def service(start_simulator, tmp_path, request):
    """One gunicorn worker in front of a simulator, over a seeded store; returns (simulator, service)."""
    simulator = start_simulator(seed=7, account=ACCOUNT)
    seed_sqlite(tmp_path / "store.sqlite3")
    process = ServiceProcess(ib_port=simulator.port, store_path=tmp_path / "store.sqlite3",
                             log_path=tmp_path / "service.log", workers=1, threads=4)
    request.addfinalizer(process.stop)
    process.start()
    process.wait_ready()
    return simulator, process


def smoke(url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deploy.smoke", url, *extra], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_healthy_service_passes_every_check(service):
    _, process = service
    result = smoke(process.url(""))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines[1:5]] == [["PASS", "GET", "/readyz"], ["PASS", "GET", "/"],
                                                         ["PASS", "GET", "/summary"], ["PASS", "POST", "/allocation"]]
    assert "dryRun" in lines[4] and lines[-1] == "4 of 4 checks passed"
    # the same service, asked for a strategy it does not know: the dry run is the one check that fails
    result = smoke(process.url(""), "--strategy", "nope")
    assert result.returncode == 1
    assert re.search(r"FAIL  POST /allocation +400 .*unknown strategy 'nope'", result.stdout), result.stdout


def test_a_service_without_its_gateway_fails_and_says_so(service):
    simulator, process = service
    simulator.stop()
    result = smoke(process.url(""), "--wait-s", "1")
    assert result.returncode == 1
    assert re.search(r"FAIL  GET  /readyz +503 .*not ready after 1 s", result.stdout), result.stdout
    assert "the deploy is NOT OK" in result.stdout


def test_https_urls_carry_an_id_token_for_the_service_and_http_urls_none():
    audiences = []

    def token_for(audience):
        audiences.append(audience)
        return "token-1"

    assert auth_headers("https://ib-trading-x7k2q-ew.a.run.app", token_for) == {"Authorization": "Bearer token-1"}
    assert auth_headers("http://127.0.0.1:8080", token_for) == {}
    assert audiences == ["https://ib-trading-x7k2q-ew.a.run.app"]


def test_a_token_given_in_the_environment_is_used_as_is(monkeypatch):
    monkeypatch.setenv("SMOKE_ID_TOKEN", "token-from-gcloud")
    assert fetch_id_token("https://ib-trading-x7k2q-ew.a.run.app") == "token-from-gcloud"


def test_a_url_without_a_scheme_is_a_usage_error():
    result = smoke("ib-trading.example")
    assert result.returncode == 2 and "must start with https://" in result.stderr
