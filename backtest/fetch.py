"""`--fetch URL`: the running service collects the bars a replay needs from IB into its store, once.

The backtest never talks to IB itself: it asks the service's `collect-market-data` for the strategy's instruments
over the span the replay reads (START, back by its longest history, through the gateway's today), and the
service requests only the days no earlier run fetched. The bars are then read from the store (bars.from_store).
"""
from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta

from lib.broker.instrument_specs import instrument_spec
from strategies.base import Strategy

_DURATION = re.compile(r"^\s*(\d+)\s+([DWMY])\s*$")
# the run's budget in the service: years of bars for a few instruments, at most one piece a year each
FETCH_TIMEOUT_S = 3600.0


class FetchError(RuntimeError):
    """The service could not collect the bars (it is not reachable, refused the request, or IB failed an
    instrument)."""


def lookback_days(duration: str) -> int:
    """Calendar days a strategy's history duration reaches back ("N D" counts sessions: about 7/5 a session,
    plus holidays)."""
    match = _DURATION.match(duration)
    if not match:
        raise FetchError(f"cannot fetch a history of {duration!r}")
    count, unit = int(match.group(1)), match.group(2)
    return {"D": math.ceil(count * 7 / 5) + 10, "W": 7 * count, "M": 31 * count, "Y": 366 * count}[unit]


def needs(strategy: Strategy, days: list[date]) -> tuple[list[dict], date]:
    """The instrument specs the strategy names on `days` and the first day its histories read."""
    specs: dict[str, dict] = {}
    reach = 0
    for day in days:
        requirements = strategy.requirements(day)
        for instrument in requirements.instruments.values():
            spec = instrument_spec(instrument)
            specs.setdefault(json.dumps(spec, sort_keys=True), spec)
        reach = max([reach, *(lookback_days(r.duration) for r in requirements.histories.values())])
    return list(specs.values()), days[0] - timedelta(days=reach)


def duration_since(first: date, today: date) -> str:
    """The collect-market-data duration reaching back to `first` from `today` (the service refuses, 400, more
    years than it fetches)."""
    days = max(1, (today - first).days)
    if days <= 365:
        return f"{days} D"
    return f"{math.ceil(days / 365)} Y"


def _call(method: str, url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S + 30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{method} {url} answered {exc.code}: {exc.read().decode(errors='replace')}") from None
    except OSError as exc:
        raise FetchError(f"{method} {url} failed: {exc}") from None


def fetch(url: str, strategy: Strategy, days: list[date]) -> dict:
    """Ask the service at `url` to collect the bars of `strategy` replayed on `days`; its report by localSymbol.

    Raises:
        FetchError: see the class.
    """
    if not days:
        raise FetchError("no session to replay, so nothing to fetch")
    base = url.rstrip("/")
    specs, first = needs(strategy, days)
    gateway_today = datetime.fromisoformat(_call("GET", f"{base}/")["gatewayTime"]).date()
    report = _call("POST", f"{base}/collect-market-data",
                   {"instruments": specs, "duration": duration_since(first, gateway_today),
                    "timeoutSeconds": FETCH_TIMEOUT_S})["instruments"]
    failed = {name: entry["error"] for name, entry in report.items() if "error" in entry}
    if failed:
        raise FetchError(f"the service could not collect every instrument: {failed}")
    return report
