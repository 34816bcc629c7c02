"""`python -m backtest` on CSV files: stats.json, trades.csv and report.html in the folder it names."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date

from tests.support import REPO_ROOT
from tests.support.bars import random_walks


def test_the_command_writes_stats_trades_and_an_html_report(tmp_path):
    bars = tmp_path / "bars"
    bars.mkdir()
    for symbol, frame in random_walks({"SPY": 400.0, "VIXY": 20.0}, date(2024, 1, 2), date(2025, 12, 31)).items():
        frame.to_csv(bars / f"{symbol}.csv", index=False)
    out = tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "backtest", "spymacdvixy", "--start", "2025-01-02", "--end",
                           "2025-12-31", "--bars", str(bars), "--out", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"report: {out}/report.html" in done.stdout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["start"] == "2025-01-02" and stats["end"] == "2025-12-31" and stats["sessions"] == 250
    assert {"totalReturn", "annualReturn", "volatility", "sharpe", "sortino", "maxDrawdown", "maxDrawdownPeak",
            "maxDrawdownTrough", "turnover", "commissions"} <= set(stats)
    assert stats["maxDrawdown"] <= 0 and stats["maxDrawdownPeak"] <= stats["maxDrawdownTrough"]
    with open(out / "trades.csv") as trades:
        rows = list(csv.DictReader(trades))
    assert len(rows) == stats["trades"] > 0 and {row["local_symbol"] for row in rows} <= {"SPY", "VIXY"}
    assert round(sum(float(row["commission"]) for row in rows), 2) == stats["commissions"] > 0
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 2 and "Monthly returns" in page and page.count("<tr><td>2025-") == len(rows)
