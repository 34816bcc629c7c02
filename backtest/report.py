"""A backtest's results written to a folder: stats.json, trades.csv and report.html (equity curve and drawdown as
inline SVG, monthly returns, trades)."""
from __future__ import annotations

import csv
import html
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.engine import Result

SESSIONS_PER_YEAR = 252


def stats(result: Result) -> dict:
    """Total and annual return, volatility, Sharpe and Sortino (risk-free rate 0, daily returns annualised by
    252 sessions), max drawdown and its peak and trough dates, turnover (traded value / mean equity, per year) and
    commissions."""
    equity = result.equity
    returns = equity.pct_change().dropna()
    years = max(len(equity) / SESSIONS_PER_YEAR, 1 / SESSIONS_PER_YEAR)
    start = result.options.cash
    total = equity.iloc[-1] / start - 1
    annual = (equity.iloc[-1] / start) ** (1 / years) - 1 if equity.iloc[-1] > 0 else -1.0
    volatility = float(returns.std(ddof=1) * math.sqrt(SESSIONS_PER_YEAR)) if len(returns) > 1 else 0.0
    mean = float(returns.mean()) * SESSIONS_PER_YEAR if len(returns) else 0.0
    downside = returns[returns < 0]
    downside_deviation = float(np.sqrt((downside ** 2).sum() / max(len(returns), 1)) * math.sqrt(SESSIONS_PER_YEAR))
    drawdown = equity / equity.cummax() - 1
    trough = drawdown.idxmin()
    peak = equity.loc[:trough].idxmax()
    traded = sum(abs(fill.value_in_base) for fill in result.fills)
    return {
        "strategy": result.strategy,
        "start": equity.index[0].date().isoformat(), "end": equity.index[-1].date().isoformat(),
        "sessions": len(equity), "startingEquity": start, "endingEquity": round(float(equity.iloc[-1]), 2),
        "totalReturn": round(float(total), 6), "annualReturn": round(float(annual), 6),
        "volatility": round(volatility, 6),
        "sharpe": round(mean / volatility, 4) if volatility else None,
        "sortino": round(mean / downside_deviation, 4) if downside_deviation else None,
        "maxDrawdown": round(float(drawdown.min()), 6),
        "maxDrawdownPeak": peak.date().isoformat(), "maxDrawdownTrough": trough.date().isoformat(),
        "turnover": round(traded / float(equity.mean()) / years, 4),
        "commissions": round(sum(fill.commission for fill in result.fills), 2),
        "trades": len(result.fills),
        "errors": sum(1 for decision in result.decisions if decision.error),
    }


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Each month's return (rows: years, columns: 1..12), from the last equity of the month before (or the start)."""
    month_end = equity.groupby(equity.index.to_period("M")).last()
    previous = month_end.shift(1)
    previous.iloc[0] = equity.iloc[0]
    returns = month_end / previous - 1
    return pd.DataFrame({"year": returns.index.year, "month": returns.index.month, "return": returns.values}) \
        .pivot(index="year", columns="month", values="return")


def write(result: Result, folder: str | Path) -> Path:
    """stats.json, trades.csv and report.html in `folder` (created); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = stats(result)
    (folder / "stats.json").write_text(json.dumps(summary, indent=2) + "\n")
    with open(folder / "trades.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, ["day", "con_id", "local_symbol", "quantity", "price", "commission",
                                      "value_in_base"])
        writer.writeheader()
        for fill in result.fills:
            writer.writerow({**asdict(fill), "day": fill.day.isoformat()})
    (folder / "report.html").write_text(html_report(result, summary))
    return folder


def svg_line(values: pd.Series, *, width: int = 900, height: int = 240, colour: str = "#1f77b4",
             fill_below: bool = False) -> str:
    """`values` as an SVG polyline, y scaled to its range, with the extremes labelled."""
    low, high = float(values.min()), float(values.max())
    span = high - low or 1.0
    xs = np.linspace(0, width, len(values)) if len(values) > 1 else np.array([0.0])
    ys = height - (values.to_numpy(dtype=float) - low) / span * height
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    area = (f'<polygon points="0,0 {points} {width},0" fill="{colour}" opacity="0.2"/>' if fill_below else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-60 -10 {width + 70} {height + 30}" '
            f'width="{width + 70}" height="{height + 30}">{area}'
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.2"/>'
            f'<text x="-55" y="5" font-size="11">{high:,.4g}</text>'
            f'<text x="-55" y="{height}" font-size="11">{low:,.4g}</text>'
            f'<text x="0" y="{height + 18}" font-size="11">{values.index[0].date()}</text>'
            f'<text x="{width}" y="{height + 18}" font-size="11" text-anchor="end">{values.index[-1].date()}</text>'
            f"</svg>")


def html_report(result: Result, summary: dict) -> str:
    equity = result.equity
    drawdown = equity / equity.cummax() - 1
    months = monthly_returns(equity)
    month_rows = "".join(
        f"<tr><th>{year}</th>" + "".join(
            "<td></td>" if pd.isna(months.loc[year].get(month)) else
            f'<td class="{"neg" if months.loc[year][month] < 0 else "pos"}">{months.loc[year][month]:.2%}</td>'
            for month in range(1, 13)) + "</tr>"
        for year in months.index)
    trade_rows = "".join(
        f"<tr><td>{fill.day}</td><td>{html.escape(fill.local_symbol)}</td><td>{fill.quantity:+d}</td>"
        f"<td>{fill.price:,.4f}</td><td>{fill.commission:,.2f}</td><td>{fill.value_in_base:,.2f}</td></tr>"
        for fill in result.fills)
    stat_rows = "".join(f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>"
                        for key, value in summary.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest of {html.escape(result.strategy)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td,th{{padding:2px 8px;
text-align:right;border-bottom:1px solid #ddd}} .neg{{color:#b00}} .pos{{color:#070}}</style></head><body>
<h1>Backtest of {html.escape(result.strategy)}: {summary["start"]} to {summary["end"]}</h1>
<h2>Equity</h2>{svg_line(equity)}
<h2>Drawdown</h2>{svg_line(drawdown, colour="#b00", fill_below=True)}
<h2>Statistics</h2><table>{stat_rows}</table>
<h2>Monthly returns</h2><table><tr><th></th>{"".join(f"<th>{m}</th>" for m in range(1, 13))}</tr>{month_rows}</table>
<h2>Trades</h2><table><tr><th>date</th><th>contract</th><th>quantity</th><th>price</th><th>commission</th>
<th>value in base</th></tr>{trade_rows}</table>
</body></html>
"""
