"""Benchmark: warm `/summary` through gunicorn + the bridge against connect-per-request (the pre-bridge design).

The simulator delays every reply by LATENCY_MS, a real gateway's round trip. Prints p50/p99 latency and
requests/s at concurrency 1, 8 and 32 for both designs, the ratios the design is judged by (concurrency 8 against
1, the bridge against the baseline at 8, p99 against p50 at 8) with their targets, and the bridge's bare round
trip. Everything runs against one local simulator. Run with `make bench`.
"""
from __future__ import annotations

import asyncio
import itertools
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ib_async import IB

from lib.gateway.bridge import IBBridge
from lib.seed import seed
from lib.store.sqlite import SqliteStore
from tests.support.service_process import ServiceProcess
from tests.support.simulator_process import SimulatorProcess

REQUESTS = 400
BASELINE_REQUESTS = 80
CONCURRENCY = (1, 8, 32)
ROUND_TRIPS = 2000
LATENCY_MS = 20
TARGETS = {"c8_over_c1_rps": 5.0, "bridge_over_baseline_rps_c8": 1.0, "p99_over_p50_c8": 3.0}

_baseline_client_ids = itertools.count(500)


def measure(task, requests: int, concurrency: int) -> dict:
    """Run `task` `requests` times on `concurrency` threads; latency percentiles and throughput."""
    def timed(_):
        started = time.perf_counter()
        task()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = sorted(pool.map(timed, range(requests)))
    wall_s = time.perf_counter() - started
    return {"p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "rps": requests / wall_s}


def connect_per_request(simulator: SimulatorProcess) -> None:
    """What the service did before the bridge: a new loop and connection per request, the same reads."""
    async def once():
        ib = IB()
        await ib.connectAsync(simulator.host, simulator.port, clientId=next(_baseline_client_ids), timeout=20)
        try:
            ib.accountValues()
            ib.portfolio()
            await asyncio.gather(ib.reqAllOpenOrdersAsync(), ib.reqExecutionsAsync())
        finally:
            ib.disconnect()

    asyncio.run(once())


def summary_over_http(service: ServiceProcess) -> None:
    status, body = service.request("GET", "/summary")
    if status != 200:
        raise RuntimeError(f"/summary answered {status}: {body}")


def bridge_round_trip(simulator: SimulatorProcess) -> dict:
    bridge = IBBridge(host=simulator.host, port=simulator.port, client_ids=itertools.count(700))
    bridge.start()
    try:
        if not bridge.wait_ready(20):
            raise RuntimeError(f"bridge not ready: {bridge.status()}")
        return measure(lambda: bridge.call(lambda ib: None, timeout_s=5), ROUND_TRIPS, 1)
    finally:
        bridge.stop()


def row(label: str, numbers: dict) -> str:
    return f"{label:<44} p50 {numbers['p50_ms']:8.2f} ms   p99 {numbers['p99_ms']:8.2f} ms   {numbers['rps']:8.1f} req/s"


def ratios(warm: dict, cold: dict) -> dict:
    return {"c8_over_c1_rps": warm[8]["rps"] / warm[1]["rps"],
            "bridge_over_baseline_rps_c8": warm[8]["rps"] / cold[8]["rps"],
            "p99_over_p50_c8": warm[8]["p99_ms"] / warm[8]["p50_ms"]}


def report(warm: dict, cold: dict) -> None:
    for concurrency in CONCURRENCY:
        print(row(f"bridge, HTTP /summary, concurrency {concurrency}", warm[concurrency]))
        print(row(f"connect per request, concurrency {concurrency}", cold[concurrency]))
    for name, value in ratios(warm, cold).items():
        target = TARGETS[name]
        met = value <= target if name.startswith("p99") else value >= target
        bound = "at most" if name.startswith("p99") else "at least"
        print(f"{name:<32} {value:6.2f}   target {bound} {target:g}   {'met' if met else 'NOT MET'}")


def main() -> None:
    with (tempfile.TemporaryDirectory() as scratch,
          SimulatorProcess(seed=3, log_path=Path(scratch) / "simulator.log") as simulator):
        scratch = Path(scratch)
        store_path = scratch / "store.sqlite3"
        store = SqliteStore(str(store_path))
        seed(store, "DU1234567")
        store.close()
        service = ServiceProcess(ib_port=simulator.port, store_path=store_path, log_path=scratch / "service.log",
                                 workers=2, threads=8)
        try:
            service.start()
            service.wait_ready()
            for _ in range(20):
                summary_over_http(service)
            simulator.admin("POST", "/latency", {"ms": LATENCY_MS})
            print(f"/summary: gunicorn 2 workers x 8 threads, {REQUESTS} requests per run; baseline "
                  f"{BASELINE_REQUESTS} requests per run, called directly (no HTTP); every simulator reply "
                  f"{LATENCY_MS} ms late")
            warm = {c: measure(lambda: summary_over_http(service), REQUESTS, c) for c in CONCURRENCY}
            cold = {c: measure(lambda: connect_per_request(simulator), BASELINE_REQUESTS, c) for c in CONCURRENCY}
            report(warm, cold)
            simulator.admin("POST", "/latency", {"ms": 0})
            print(row("bridge round trip (call, no I/O)", bridge_round_trip(simulator)))
        finally:
            service.stop()


if __name__ == "__main__":
    main()
