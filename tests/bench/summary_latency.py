"""Benchmark: warm `/summary` through gunicorn + the bridge against connect-per-request (the pre-bridge design).

Prints p50/p99 latency and requests/s at concurrency 1 and 8, the ratio to the baseline, and the bridge's bare
round-trip time. Everything runs against one local simulator. Run with `make bench`.
"""
from __future__ import annotations

import asyncio
import itertools
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ib_insync import IB

from lib.gateway.bridge import IBBridge
from lib.seed import seed
from lib.store.sqlite import SqliteStore
from tests.support.service_process import ServiceProcess
from tests.support.simulator_process import SimulatorProcess

REQUESTS = 200
BASELINE_REQUESTS = 40
CONCURRENCY = (1, 8)
ROUND_TRIPS = 2000

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
            print(f"/summary: gunicorn 2 workers x 8 threads, {REQUESTS} requests per run; baseline "
                  f"{BASELINE_REQUESTS} requests per run, called directly (no HTTP)")
            print("ib_insync paces each connection at IB's 45 requests/s and /summary makes 2 broker requests, so "
                  "the bridge's throughput is bounded near 2 workers x 22 /s; each baseline request has a fresh, "
                  "unpaced connection")
            for concurrency in CONCURRENCY:
                warm = measure(lambda: summary_over_http(service), REQUESTS, concurrency)
                cold = measure(lambda: connect_per_request(simulator), BASELINE_REQUESTS, concurrency)
                print(row(f"bridge, HTTP /summary, concurrency {concurrency}", warm))
                print(row(f"connect per request, concurrency {concurrency}", cold))
                print(f"{'':<44} p50 {cold['p50_ms'] / warm['p50_ms']:.1f}x faster, "
                      f"{warm['rps'] / cold['rps']:.1f}x the throughput")
            print(row("bridge round trip (call, no I/O)", bridge_round_trip(simulator)))
        finally:
            service.stop()


if __name__ == "__main__":
    main()
