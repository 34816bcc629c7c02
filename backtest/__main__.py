"""`python -m backtest STRATEGY --start YYYY-MM-DD --end YYYY-MM-DD [--bars DIR | --store | --fetch URL]`: replay a strategy and
write stats.json, trades.csv and report.html to a folder it prints."""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime

from backtest import bars as bar_sources
from backtest import engine, report
from backtest.fetch import fetch
from backtest.universe import Universe
from lib.config import TradingConfig, load as load_settings
from lib.store.factory import open_store
from strategies import get_strategy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backtest", description=__doc__)
    parser.add_argument("strategy", help="a registered strategy id")
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bars", metavar="DIR", help="a folder of SYMBOL.csv / SYMBOL.parquet daily bars")
    source.add_argument("--store", action="store_true",
                        help="the bars collect-market-data kept in the store (STORE_BACKEND, STORE_PATH, ...)")
    source.add_argument("--fetch", metavar="URL",
                        help="the store's bars, after the service at URL (e.g. http://localhost:8080, on the same "
                             "store) collected from IB the days of the strategy's instruments it lacks")
    parser.add_argument("--params", default="{}", help="the strategy's parameters as JSON")
    parser.add_argument("--cash", type=float, default=1_000_000.0, help="starting NetLiquidation (base currency)")
    parser.add_argument("--base", default="USD")
    parser.add_argument("--fill-at", choices=engine.FILL_AT, default="open",
                        help="fill at the next session's open (default) or at the deciding close")
    parser.add_argument("--no-commissions", action="store_true")
    parser.add_argument("--config", action="store_true",
                        help="size with the store's trading config (exposure.*) instead of the whole account")
    parser.add_argument("--multiplier", action="append", default=[], metavar="ROOT=VALUE",
                        help="a futures multiplier the built-in table lacks")
    parser.add_argument("--out", help="the folder for the report (default var/backtests/STRATEGY-TIMESTAMP)")
    return parser


def _progress(done: int, total: int) -> None:
    width = 40
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} sessions")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    strategy = get_strategy(args.strategy, json.loads(args.params))
    store = None
    if args.fetch:
        report_by_symbol = fetch(args.fetch, strategy, engine.sessions_between(args.start, args.end, "XNYS"))
        print(json.dumps({"fetched": {name: {key: entry[key] for key in ("requests", "written")}
                                      for name, entry in report_by_symbol.items()}}))
    if args.store or args.fetch or args.config:
        settings = load_settings(os.environ)
        store = open_store(settings.store_backend, path=settings.store_path, project_id=settings.project_id)
    from_store = args.store or args.fetch
    bars = bar_sources.from_store(store) if from_store else bar_sources.from_files(args.bars)
    config = TradingConfig.load(store, load_settings(os.environ).trading_mode) if args.config else None
    multipliers = {root: float(value) for root, value in (item.split("=", 1) for item in args.multiplier)}
    options = engine.Options(args.start, args.end, cash=args.cash, base=args.base, fill_at=args.fill_at,
                             commissions=not args.no_commissions, config=config)
    result = engine.run(strategy, bars, options, universe=Universe(bars.con_ids, multipliers),
                        progress=_progress if sys.stderr.isatty() else None)
    folder = args.out or f"var/backtests/{strategy.id}-{datetime.now():%Y%m%d-%H%M%S}"
    report.write(result, folder)
    summary = report.stats(result)
    print(json.dumps({key: summary[key] for key in ("totalReturn", "annualReturn", "sharpe", "maxDrawdown",
                                                     "commissions", "trades")}))
    print(f"report: {folder}/report.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
