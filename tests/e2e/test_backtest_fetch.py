"""`python -m backtest --fetch URL`: the running service collects the strategy's bars from IB (the simulator,
pinned to known closes) into its store once, and the replay of the stored bars equals one of the same closes from
CSV files."""
from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd

from backtest import engine
from backtest.__main__ import main
from tests.support.clock import NOW

# more than a year of sessions before the replay, so the fetch asks IB for several calendar years
SESSIONS = 420
SPY_CLOSES = [round(400 + 30 * ((i % 90) / 90) + 0.05 * i, 2) for i in range(SESSIONS)]
VIXY_CLOSES = [round(18 + 4 * ((i % 40) / 40), 2) for i in range(SESSIONS)]


def run_backtest(out, *source: str) -> dict:
    start, end = NOW.date() - timedelta(days=200), NOW.date() - timedelta(days=1)
    assert main(["spymacdvixy", "--start", start.isoformat(), "--end", end.isoformat(), "--fill-at", "close",
                 "--out", str(out), *source]) == 0
    # conIds are IB's for stored bars and made up for CSV files: the trades are compared without them
    trades = pd.read_csv(out / "trades.csv").drop(columns="con_id")
    return {"stats": json.loads((out / "stats.json").read_text()), "trades": trades.to_dict("records")}


def test_fetched_bars_come_through_ib_once_and_replay_like_the_same_bars_from_csv(trading, service_store,
                                                                                    monkeypatch, tmp_path):
    t = trading()
    for symbol, closes in (("SPY", SPY_CLOSES), ("VIXY", VIXY_CLOSES)):
        t.simulator.admin("POST", "/history", {"symbol": symbol, "closes": closes})
    for name, value in service_store.env.items():
        monkeypatch.setenv(name, value)
    url = t.service.url("")

    fetched = run_backtest(tmp_path / "fetched", "--fetch", url)
    [first] = t.activity("collect-market-data")
    spy = first["result"]["instruments"]["SPY"]
    # pieces by calendar year, overlapping where "N D" sessions reach past the year's first day
    assert spy["requests"] >= 2 and spy["bars"] >= spy["written"] > 200
    assert len(t.store.query(f"marketData/{spy['conId']}/daily")) == spy["written"]
    assert set(first["result"]["instruments"]) == {"SPY", "VIXY"}

    # a second run asks IB for nothing: an armed pacing refusal of the next historical request stays unspent
    t.simulator.admin("POST", "/faults", {"kind": "pacing", "count": 1})
    again = run_backtest(tmp_path / "again", "--fetch", url)
    second = t.activity("collect-market-data")[1]["result"]["instruments"]
    assert all(entry["requests"] == 0 and entry["written"] == 0 for entry in second.values())
    assert [fault["kind"] for fault in t.simulator.admin("GET", "/faults")["armed"]] == ["pacing"]
    assert again == fetched

    folder = tmp_path / "csv"
    folder.mkdir()
    days = engine.sessions_between(NOW.date() - timedelta(days=2 * 365), NOW.date(), "XNYS")[-SESSIONS:]
    for symbol, closes in (("SPY", SPY_CLOSES), ("VIXY", VIXY_CLOSES)):
        pd.DataFrame({"date": days[:-1], "open": closes[:-1], "high": closes[:-1], "low": closes[:-1],
                      "close": closes[:-1]}).to_csv(folder / f"{symbol}.csv", index=False)
    from_csv = run_backtest(tmp_path / "from-csv", "--bars", str(folder))
    assert from_csv == fetched
    assert fetched["stats"]["trades"] > 0
